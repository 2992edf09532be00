"""Converters from other projects' checkpoints into our pipeline's diffusers layout.

`foley convert diff-foley --ldm ldm_epoch240.ckpt --cavp cavp_epoch66.ckpt -o DIR`
(see `diff_foley.convert_diff_foley`) writes a directory that
`foley-engine serve --model DIR` loads.
"""
