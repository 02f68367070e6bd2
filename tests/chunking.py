"""Test helper: the documented crossfade chunk layout, computed directly (an independent reference
for voicegen.infer.stream.CrossfadeChunks, used by the streaming and CycleGAN chunking tests)."""

from __future__ import annotations


def crossfade_spans(frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """Full chunks at 0, hop, 2 hop... (hop = chunk - overlap) while another full chunk follows, then
    the rest as one chunk or two of equal length."""
    hop, start, spans = chunk - overlap, 0, []
    while start + chunk + hop <= frames:
        spans.append((start, start + chunk))
        start += hop
    rest = frames - start
    if rest <= chunk:
        return spans + [(start, frames)]
    length = -(-(rest + overlap) // 2)
    return spans + [(start, start + length), (frames - length, frames)]
