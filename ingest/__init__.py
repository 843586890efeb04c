"""Cameras in, sampled frames out: sources, supervision, frame rings, footage on disk.

Public API (import from the modules; this package imports nothing heavy on its own):
    ingest.manager.IngestManager    one supervised worker per camera, buffers, status, stats, the WHIP handler
    ingest.buffer.FrameBuffer       a camera's ring of sampled frames
    ingest.footage.FootageStore     JPEG footage with retention, snapshots, MP4 clips
    ingest.sources.file.open_file_frames   sampled frames of a video file, as fast as possible (vigil replay)
    ingest.errors                   SourceError, UnknownCamera, BadOffer, FootageError and its subclasses
"""
