"""The book's animations, built from a fit that recorded its steps.

* ``basis_animation``: the true basis vectors (dashed, static) with the learned columns
  of W converging onto them (solid), beside the MSE on a log axis.
* ``reconstruction_animation``: a grid of samples with their reconstructions.
* ``html_video``: an animation as an HTML5 ``<video controls>`` holding an H.264 mp4,
  base64-embedded in the page (no external file, no CDN; the reader can pause and scrub).

Both builders return a ``StepAnimation``: a matplotlib ``FuncAnimation`` whose frame i
shows fit step ``anim.steps[i]``; ``anim.draw_frame_at(i)`` sets the figure to frame i
(for stills and tests).
Their figure is closed before they return, so no static copy is displayed with the video.

Scale.  W V = (W D)(D^{-1} V) for any positive diagonal D, so a fit fixes the *shape* of
each learned column, not its size.  For display, each learned column w is divided at
every frame by its factor s = <g, w> / <g, g> against its matched true vector g
(``metrics.column_scale``, the convention of ``Match.scale``: w ~= s g), so it is drawn
in g's units; the true vectors keep their own units.
"""

from __future__ import annotations

import html
import re

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.ticker import FuncFormatter, NullFormatter

from ._validate import as_array, check_count, check_real
from .legibility import text_size_record
from .loop import FitResult
from .metrics import Match, _column_scale as column_scale, _correlation_matrix as correlation_matrix, match_components

__all__ = ["StepAnimation", "basis_animation", "reconstruction_animation", "html_video"]


def _pyplot():
    import matplotlib.pyplot as plt  # lazily: importing nmf_lib must not need a display

    return plt


class StepAnimation(FuncAnimation):
    """A FuncAnimation over recorded fit steps.

    ``steps[i]`` is the fit step shown in frame i; ``artists`` names the artists the
    frames update; ``draw_frame_at(i)`` updates the figure to frame i and returns it
    (for stills and tests); ``match`` is the pairing used (basis animations only).
    """

    def __init__(self, fig, update, steps, fps, artists, match=None):
        self.steps = np.asarray(steps, dtype=int)
        self.artists = artists
        self.match = match
        self._update = update
        super().__init__(fig, update, frames=len(self.steps), interval=1000.0 / fps,
                         repeat=True, blit=False, cache_frame_data=False)

    def draw_frame_at(self, i: int):
        self._update(int(i))
        return self._fig


def _frames(result: FitResult, steps, need: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the recording, and the fit steps they show."""
    if not isinstance(result, FitResult):
        raise TypeError(f"expected the FitResult returned by nmf_lib.fit, got {type(result).__name__}")
    if getattr(result, need) is None:
        hint = "record_steps=..." if need == "W_history" else "record_steps=... and record_samples=[...]"
        raise ValueError(f"this fit recorded no {need}: call fit(..., {hint}) to animate it")
    recorded = np.asarray(result.recorded_steps, dtype=int)
    if steps is None:
        return np.arange(recorded.size), recorded
    try:
        steps = list(steps)
    except TypeError:
        raise TypeError(f"steps must be a sequence of recorded steps, got {steps!r}") from None
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in steps):
        raise TypeError(f"steps must hold integer steps, got {steps[:5]!r}")
    steps = np.asarray(steps, dtype=int)
    if steps.size == 0:
        raise ValueError("steps is empty: an animation needs at least one frame")
    where = {s: i for i, s in enumerate(recorded.tolist())}
    missing = [s for s in steps.tolist() if s not in where]
    if missing:
        raise ValueError(f"steps {missing[:5]} were not recorded by the fit (recorded: "
                         f"{recorded.size} steps from {recorded.min()} to {recorded.max()})")
    return np.array([where[s] for s in steps.tolist()]), steps


def _grid(t, m: int) -> np.ndarray:
    if t is None:
        return np.linspace(0.0, 1.0, m)
    t = as_array(t, "t", ndim=None)
    if t.shape != (m,):
        raise ValueError(f"t must have shape ({m},) to match the {m} rows of the data, got {t.shape}")
    return t


def _check_fps(fps) -> float:
    return check_real(fps, "fps", minimum=0.0, strict=True)


def basis_animation(result: FitResult, G, t=None, *, steps=None, match: Match | None = None,
                    fps: float = 15, figsize=(9.0, 3.6), dpi: int = 100):
    """Animate the learned basis (columns of W) converging onto the true one ``G`` (m x d).

    Left: the true g_k dashed, the matched learned columns solid, each put in g_k's
    units at every frame (``metrics.column_scale``, see the module docstring), labelled with their
    correlation to g_k at that frame.  Right: the MSE per step on a log axis, drawn up
    to the current step, with a marker at it.

    ``match`` pairs learned columns with true ones; by default
    ``match_components(G, result.W)`` on the final W, so the pairing is fixed for the
    whole animation.  ``steps`` selects recorded steps to show (default: all recorded).
    """
    idx, shown = _frames(result, steps, "W_history")
    G = as_array(G, "G", ndim=None)
    m, rank = result.W.shape
    if G.ndim != 2 or G.shape[0] != m or G.shape[1] > rank:
        raise ValueError(f"G must be m x d with m = {m} rows and d <= {rank} columns, got shape {G.shape}")
    t = _grid(t, m)
    fps = _check_fps(fps)
    if match is not None and not isinstance(match, Match):
        raise TypeError(f"match must be a Match (nmf_lib.match_components), got {type(match).__name__}")
    match = match_components(G, result.W) if match is None else match
    order = np.asarray(match.order, dtype=int)
    if order.shape != (G.shape[1],):
        raise ValueError(f"match.order must have one entry per true vector ({G.shape[1]}), got {order.shape}")
    W_hist = result.W_history
    loss = np.asarray(result.loss)

    plt = _pyplot()
    fig, (ax_w, ax_l) = plt.subplots(1, 2, figsize=figsize, dpi=dpi, width_ratios=(1.5, 1),
                                     facecolor="white", layout="constrained")
    colors = [f"C{k}" for k in range(G.shape[1])]
    for k, c in enumerate(colors):
        ax_w.plot(t, G[:, k], "--", color=c, lw=1.4, zorder=3)  # on top: visible through noise
    learned = [ax_w.plot(t, np.zeros(m), "-", color=c, lw=1.6, alpha=0.9)[0] for c in colors]
    ax_w.set_xlim(t[0], t[-1])
    ax_w.set_ylim(-0.05 * G.max(), 1.35 * G.max())
    ax_w.set_xlabel("t")
    ax_w.set_title("true g_k (dashed), learned w_k (solid, scaled to fit)", fontsize=10)
    legend = ax_w.legend(learned, [""] * len(learned), loc="upper left", fontsize=9, ncols=2,
                         frameon=False)

    steps_all = np.arange(loss.size)
    ax_l.semilogy(steps_all, loss, color="0.8", lw=1.5)
    done, = ax_l.semilogy([], [], color="C0", lw=2)
    marker, = ax_l.semilogy([], [], "o", color="C3", ms=6, clip_on=False)
    ax_l.set_xlim(0, max(loss.size - 1, 1))
    ax_l.set_xlabel("step")
    ax_l.set_title("MSE (log scale)", fontsize=10)
    ax_l.grid(True, which="major", alpha=0.3)
    # plain tick labels ("0.001"): the default 10^k labels are re-typeset by mathtext at every frame
    ax_l.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_l.yaxis.set_minor_formatter(NullFormatter())
    title = fig.suptitle("")
    n_total = result.n_steps

    def update(i):
        W = W_hist[idx[i]][:, order]
        scale = column_scale(G, W)
        corr = np.diag(correlation_matrix(G, W))
        for k, line in enumerate(learned):
            line.set_ydata(W[:, k] / scale[k] if scale[k] > 0 else np.zeros(m))
            legend.get_texts()[k].set_text(f"w{k + 1}: r = {corr[k]:.3f}")
        s = int(shown[i])
        done.set_data(steps_all[: s + 1], loss[: s + 1])
        marker.set_data([s], [loss[s]])
        title.set_text(f"step {s} of {n_total}:  MSE = {loss[s]:.3g}")
        return [*learned, done, marker, title]

    artists = {"learned": learned, "loss_line": done, "marker": marker, "title": title,
               "legend_texts": legend.get_texts()}
    anim = StepAnimation(fig, update, shown, fps, artists, match)
    _freeze_layout(fig, update)
    plt.close(fig)
    return anim


def _freeze_layout(fig, update) -> None:
    """Draw frame 0, lay the figure out once, then keep that layout for every frame
    (re-running the constrained layout at each frame would double the rendering time)."""
    update(0)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")


def reconstruction_animation(result: FitResult, X, t=None, *, steps=None, ncols: int = 3,
                             fps: float = 15, figsize=None, dpi: int = 100):
    """Animate samples (columns ``result.sample_indices`` of X, m x n) with their
    reconstructions W V[:, i] at the recorded steps, in a grid of ``ncols`` columns."""
    idx, shown = _frames(result, steps, "reconstructions")
    X = as_array(X, "X", ndim=None)
    m = result.W.shape[0]
    if X.ndim != 2 or X.shape[0] != m:
        raise ValueError(f"X must be the m x n data the fit saw (m = {m}), got shape {X.shape}")
    samples = np.asarray(result.sample_indices, dtype=int)
    if samples.size == 0:
        raise ValueError("the fit recorded no samples (record_samples was empty)")
    if samples.max() >= X.shape[1] or samples.min() < -X.shape[1]:
        raise ValueError(f"the recorded sample indices do not fit X with {X.shape[1]} columns")
    ncols = check_count(ncols, "ncols", 1)
    t = _grid(t, m)
    fps = _check_fps(fps)
    data = X[:, samples].astype(np.float64)
    recon = result.reconstructions
    ncols = min(int(ncols), samples.size)
    nrows = -(-samples.size // ncols)
    figsize = (3.0 * ncols, 2.0 * nrows + 0.5) if figsize is None else figsize
    top = max(float(data.max()), float(recon[idx].max()))

    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, dpi=dpi, sharex=True, sharey=True,
                             squeeze=False, facecolor="white", layout="constrained")
    lines = []
    for j, ax in enumerate(axes.flat):
        if j >= samples.size:
            ax.set_visible(False)
            continue
        ax.plot(t, data[:, j], color="0.55", lw=2.5, label="sample x_i")
        lines.append(ax.plot(t, np.zeros(m), color="C3", lw=1.3, label="reconstruction W v_i")[0])
        ax.set_title(f"sample {samples[j]}", fontsize=9)
        ax.set_xlim(t[0], t[-1])
        ax.set_ylim(-0.05 * top, 1.05 * top)
        ax.tick_params(labelsize=9)
    fig.legend(handles=axes.flat[0].get_lines(), loc="outside lower center", ncols=2, fontsize=9,
               frameon=False)
    title = fig.suptitle("")
    n_total = result.n_steps

    def update(i):
        R = recon[idx[i]]
        for j, line in enumerate(lines):
            line.set_ydata(R[:, j])
        err = float(np.mean((R - data) ** 2))
        title.set_text(f"step {int(shown[i])} of {n_total}:  MSE on these samples = {err:.3g}")
        return [*lines, title]

    anim = StepAnimation(fig, update, shown, fps, {"reconstructions": lines, "title": title})
    _freeze_layout(fig, update)
    plt.close(fig)
    return anim


def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        import shutil

        import matplotlib as mpl

        exe = shutil.which(mpl.rcParams["animation.ffmpeg_path"])
        if exe is None:
            raise RuntimeError("html_video needs an ffmpeg binary: install the imageio-ffmpeg "
                               "wheel (pip install 'nmf-lib[animate]'), which ships one") from None
        return exe
    return imageio_ffmpeg.get_ffmpeg_exe()


def html_video(anim, *, label: str | None = None, autoplay: bool = False, loop: bool = True,
               embed_limit_mb: float = 20.0):
    """Encode ``anim`` as H.264 and return an ``IPython.display.HTML`` ``<video controls>``
    with the mp4 base64-embedded (the page needs no other file and no network).

    Frames come at the animation's own rate.  ``label`` describes the video to screen
    readers (``aria-label``).  ``autoplay`` adds ``autoplay muted playsinline`` (what
    browsers require to start a video by themselves).  The element carries the size of
    the frames' smallest text and their dpi (``data-smallest-text-pt``, ``data-dpi``; see
    ``nmf_lib.legibility``), for the book's legibility test.
    """
    import matplotlib as mpl
    from IPython.display import HTML

    if not isinstance(anim, FuncAnimation):
        raise TypeError(f"anim must be a matplotlib animation (basis_animation, reconstruction_animation), "
                        f"got {type(anim).__name__}")
    embed_limit_mb = check_real(embed_limit_mb, "embed_limit_mb", minimum=0.0, strict=True)

    with mpl.rc_context({"animation.ffmpeg_path": _ffmpeg_exe(), "animation.writer": "ffmpeg"}):
        tag = anim.to_html5_video(embed_limit=embed_limit_mb)
        # the frames' dpi, as Animation.save chose it
        dpi = mpl.rcParams["savefig.dpi"]
        dpi = anim._fig.dpi if dpi == "figure" else dpi
    record = text_size_record(anim._fig, dpi)  # the figure as the last frame drew it
    _pyplot().close(anim._fig)
    head = re.match(r"<video (width=\"\d+\" height=\"\d+\")[^>]*>", tag)
    if head is None:
        raise RuntimeError(f"the video was not embedded (larger than {embed_limit_mb} MB?): {tag[:80]!r}")
    options = ["controls"] + (["autoplay", "muted", "playsinline"] if autoplay else []) + (["loop"] if loop else [])
    if label:
        options.append(f'aria-label="{html.escape(label, quote=True)}"')
    options += [f'data-{key}="{value}"' for key, value in record.items()]
    return HTML(f"<video {head.group(1)} {' '.join(options)} style=\"max-width: 100%; height: auto\">"
                + tag[head.end():])
