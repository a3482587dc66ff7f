"""nmf_lib: a small non-negative matrix factorization library for the book.

Notation (the book's): X is m x n (m features, n samples), X ~ W V with W (m x d)
holding the basis vectors in its columns and V (d x n) the coefficients.
"""

from .animate import StepAnimation, basis_animation, html_video, reconstruction_animation
from .data import MU, SIGMA, Mixture, gaussian_basis, gaussian_mixture
from .fit import METHODS, FitResult, ZeroLockWarning, fit, hals_passes
from .init import INITS, initialize, nndsvd, random_init
from .metrics import Match, hoyer_sparsity, match_components, mse, mse_from_products, squared_norm
from .metrics import kl_divergence
from .rank import (
    RankConsensus, average_linkage, cluster_labels, connectivity, consensus_by_rank, consensus_matrix,
    cophenetic_correlation, cophenetic_distances, dendrogram_order, error_by_rank,
)
from .updates import guard, update_V, update_W
from .updates import hals_update_V, hals_update_W, kl_update_V, kl_update_W

__version__ = "0.1.0"

__all__ = [
    "StepAnimation", "basis_animation", "html_video", "reconstruction_animation",
    "MU", "SIGMA", "Mixture", "gaussian_basis", "gaussian_mixture",
    "FitResult", "ZeroLockWarning", "fit",
    "METHODS", "hals_passes",
    "INITS", "initialize", "nndsvd", "random_init",
    "Match", "hoyer_sparsity", "match_components", "mse", "mse_from_products", "squared_norm",
    "RankConsensus", "average_linkage", "cluster_labels", "connectivity", "consensus_by_rank",
    "consensus_matrix", "cophenetic_correlation", "cophenetic_distances", "dendrogram_order",
    "error_by_rank",
    "guard", "update_V", "update_W",
    "hals_update_V", "hals_update_W", "kl_update_V", "kl_update_W", "kl_divergence",
]
