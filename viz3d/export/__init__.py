"""Offscreen front ends: stills now, video from a tour later; they keep a scene alive across frames."""
