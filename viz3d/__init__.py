"""viz3d: a GPU-accelerated 3D visualizer for PyTorch networks."""
