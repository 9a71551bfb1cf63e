"""The ffmpeg variation renderer: find ffmpeg, draw effects, probe, render."""
