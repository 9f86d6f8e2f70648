"""The matrix benchmark's recorder: what it counts as the first head on screen."""

from bench.matrix import Recorder
from dashboard.dask_pool import Progress


def test_a_pca_stand_in_is_the_first_head_on_screen():
    recorder = Recorder()
    progress = Progress("key", total=4, method="t-SNE", phase="projecting 4 heads")
    recorder(progress)
    assert recorder.first_visible is None
    progress.add("pca", 2)  # a stand-in drawn before any t-SNE map
    recorder(progress)
    assert recorder.first_visible is not None and recorder.first_final is None
    progress.add("final", 2)
    recorder(progress)
    assert recorder.first_final is not None and recorder.final_done == 1
