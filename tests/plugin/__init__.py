"""Tests of the editor side: timelines, markers, media lookup, the Foley track."""
