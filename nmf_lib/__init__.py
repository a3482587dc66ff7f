"""nmf_lib: a small non-negative matrix factorization library for the book.

Notation (the book's): X is m x n (m features, n samples), X ~ W V with W (m x d)
holding the basis vectors in its columns and V (d x n) the coefficients.

One module per idea: ``data`` (the post's Gaussian mixture), ``updates`` (the rules as
the book prints them), ``steppers`` (their buffered twins, which ``fit`` runs, and the
registry of methods), ``fused`` (the optional compiled single-pass step, numba),
``dask_fit`` (``fit`` on a Dask array, one pass over X per step; optional, imported only
when a Dask array is passed), ``loop`` (``fit`` and what it records), ``starts`` (starting
points), ``metrics`` (losses, correlation and matching), ``rank`` (choosing d),
``uniqueness`` (which factors the data determine: smallest ratios, exact alternative
factorizations, the Successive Projection Algorithm), ``animate`` (the animations), ``legibility`` (how small a figure's text is, recorded for
the book's legibility test) and ``baselines`` (what the library is measured against).
"""

from ._validate import MemoryWarning
from .animate import StepAnimation, basis_animation, html_video, reconstruction_animation
from .data import CENTRES, WIDTHS, Mixture, gaussian_basis, gaussian_mixture
from .loop import FitResult, ZeroLockWarning, fit
from .metrics import (
    Match, best_assignment, column_scale, correlation_matrix, hoyer_sparsity, kl_divergence,
    logdet_penalty, match_components, mse, mse_from_products, squared_norm,
)
from .rank import (
    RankConsensus, average_linkage, cluster_labels, connectivity, consensus_by_rank, consensus_matrix,
    cophenetic_correlation, cophenetic_distances, dendrogram_order, error_by_rank,
)
from .starts import INITS, initialize, nndsvd, random_init, spa_start
from .steppers import METHODS, hals_pass_counts
from .uniqueness import exact_alternative, smallest_ratios, spa
from .updates import (
    guard, hals_update_V, hals_update_W, kl_update_V, kl_update_W, minvol_lambda, minvol_update_W,
    mu_update_V, mu_update_W, scale_to_fit, simplex_projection,
)

__version__ = "0.1.0"

__all__ = [
    "StepAnimation", "basis_animation", "html_video", "reconstruction_animation",
    "CENTRES", "WIDTHS", "Mixture", "gaussian_basis", "gaussian_mixture",
    "FitResult", "ZeroLockWarning", "MemoryWarning", "fit", "METHODS", "hals_pass_counts",
    "Match", "best_assignment", "column_scale", "correlation_matrix", "hoyer_sparsity",
    "kl_divergence", "logdet_penalty", "match_components", "mse", "mse_from_products", "squared_norm",
    "RankConsensus", "average_linkage", "cluster_labels", "connectivity", "consensus_by_rank",
    "consensus_matrix", "cophenetic_correlation", "cophenetic_distances", "dendrogram_order",
    "error_by_rank",
    "INITS", "initialize", "nndsvd", "random_init", "spa_start",
    "exact_alternative", "smallest_ratios", "spa",
    "guard", "hals_update_V", "hals_update_W", "kl_update_V", "kl_update_W", "minvol_lambda",
    "minvol_update_W", "mu_update_V", "mu_update_W", "simplex_projection", "scale_to_fit",
]
