"""Editor side of Rhythmic Foley: timelines in, Foley tracks out (never imports the engine)."""
