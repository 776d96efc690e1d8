"""Training: augmented batch building, training loops and their configs."""
