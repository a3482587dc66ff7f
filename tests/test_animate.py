"""The animations: frame counts, that what is drawn is what the fit recorded, and the video."""

import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nmf_lib as nl  # noqa: E402
from nmf_lib.metrics import column_scale  # noqa: E402

# builders whose animation a test never encodes are garbage-collected unrendered: expected here
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering:UserWarning")

N_STEPS = 6


@pytest.fixture(scope="module")
def case():
    mix = nl.gaussian_mixture(n=60, m=40, seed=3)
    res = nl.fit(mix.X, 4, n_steps=N_STEPS, seed=4, record_steps="all", record_samples=[5, 0, 7, 11])
    return mix, res


def test_basis_animation_draws_the_recorded_columns(case):
    mix, res = case
    before = plt.get_fignums()
    anim = nl.basis_animation(res, mix.G, mix.t)
    assert plt.get_fignums() == before  # closed: no stray static copy
    assert len(list(anim.new_frame_seq())) == N_STEPS + 1
    np.testing.assert_array_equal(anim.steps, np.arange(N_STEPS + 1))
    order = nl.match_components(mix.G, res.W).order
    np.testing.assert_array_equal(anim.match.order, order)
    for i in (0, 3, N_STEPS):
        anim.draw_frame_at(i)
        W = res.W_history[i][:, order]
        scale = column_scale(mix.G, W)  # learned ~= scale * true: drawn as learned / scale
        for k, line in enumerate(anim.artists["learned"]):
            np.testing.assert_allclose(line.get_xdata(), mix.t)
            np.testing.assert_allclose(line.get_ydata(), W[:, k] / scale[k])
            r = np.corrcoef(W[:, k], mix.G[:, k])[0, 1]
            assert anim.artists["legend_texts"][k].get_text() == f"w{k + 1}: r = {r:.3f}"
        x, y = anim.artists["marker"].get_data()
        assert list(x) == [i] and y[0] == pytest.approx(res.loss[i])
        assert len(anim.artists["loss_line"].get_xdata()) == i + 1
        assert anim.artists["title"].get_text().startswith(f"step {i} of {N_STEPS}")


def test_a_subset_of_steps_maps_frames_to_those_steps(case):
    mix, res = case
    anim = nl.basis_animation(res, mix.G, steps=[0, 2, 5])
    assert len(list(anim.new_frame_seq())) == 3
    anim.draw_frame_at(1)
    order = anim.match.order
    W = res.W_history[2][:, order]
    np.testing.assert_allclose(anim.artists["learned"][0].get_ydata(), W[:, 0] / column_scale(mix.G, W)[0])
    assert list(anim.artists["marker"].get_data()[0]) == [2]


def test_reconstruction_animation_draws_the_recorded_reconstructions(case):
    mix, res = case
    before = plt.get_fignums()
    anim = nl.reconstruction_animation(res, mix.X, mix.t, steps=[0, 1, 4, N_STEPS], ncols=2)
    assert plt.get_fignums() == before
    assert len(list(anim.new_frame_seq())) == 4
    for i, step in enumerate([0, 1, 4, N_STEPS]):
        anim.draw_frame_at(i)
        for j, line in enumerate(anim.artists["reconstructions"]):
            np.testing.assert_allclose(line.get_ydata(), res.reconstructions[step][:, j])
    # the last frame is the final W V on the recorded samples
    np.testing.assert_allclose(anim.artists["reconstructions"][2].get_ydata(), (res.W @ res.V)[:, 7])


def test_bad_input_is_named(case):
    mix, res = case
    plain = nl.fit(mix.X, 4, n_steps=2, seed=1)
    with pytest.raises(ValueError, match="recorded no W_history"):
        nl.basis_animation(plain, mix.G)
    only_w = nl.fit(mix.X, 4, n_steps=2, seed=1, record_steps="all")
    with pytest.raises(ValueError, match="record_samples"):
        nl.reconstruction_animation(only_w, mix.X)
    with pytest.raises(ValueError, match="not recorded"):
        nl.basis_animation(nl.fit(mix.X, 4, n_steps=4, seed=1, record_steps=2), mix.G, steps=[0, 1])
    with pytest.raises(ValueError, match="G must be"):
        nl.basis_animation(res, mix.G[:-1])
    with pytest.raises(ValueError, match="t must have shape"):
        nl.basis_animation(res, mix.G, mix.t[:-1])
    with pytest.raises(ValueError, match="fps"):
        nl.basis_animation(res, mix.G, fps=0)
    with pytest.raises(TypeError, match="FitResult"):
        nl.basis_animation(res.W, mix.G)


def test_html_video_is_an_embedded_h264_mp4_with_controls(case):
    mix, res = case
    anim = nl.basis_animation(res, mix.G, steps=[0, 1, 2], figsize=(4.8, 2.4), dpi=50, fps=5)
    html = nl.html_video(anim).data
    assert html.startswith("<video ") and html.rstrip().endswith("</video>")
    assert re.match(r"<video [^>]*\bcontrols\b", html)
    assert "autoplay" not in html
    # the frames' smallest text and dpi, for the book's legibility test (nmf_lib.legibility)
    head = html.split(">")[0]
    assert 'data-dpi="50"' in head
    smallest = re.search(r'data-smallest-text-pt="([0-9.]+)"', head)
    assert smallest and 5 <= float(smallest.group(1)) <= 20
    payload = re.search(r'src="data:video/mp4;base64,([^"]+)"', html)
    assert payload is not None
    markup = html.replace(payload.group(1), "")
    assert "http" not in markup and "//" not in markup  # nothing to fetch: no URL, no CDN
    assert markup.count("src=") == 1
    mp4 = base64.b64decode(payload.group(1))
    assert mp4[4:8] == b"ftyp" and b"avc1" in mp4  # an mp4 holding an H.264 stream
    auto = nl.html_video(nl.basis_animation(res, mix.G, steps=[0, 1], figsize=(4.8, 2.4), dpi=50),
                         autoplay=True, loop=False, label='basis "converging" <fast>')
    assert 'aria-label="basis &quot;converging&quot; &lt;fast&gt;"' in auto.data.split(">")[0] + ">"
    assert re.match(r"<video [^>]*\bautoplay muted playsinline\b", auto.data)
    assert "loop" not in auto.data.split(">")[0]
