"""Post-processing that also ships in C: detection decode and NMS (apps/yolo.py)."""
