"""K-Means: Lloyd's algorithm half-step by half-step (assign, update), its initialisations
(k-means++ pick by pick), empty clusters, and where it fails."""
from __future__ import annotations

from explorer.params import Choice, Float, Int, Text
from explorer.scene import Preset, Scene
from scenes.kmeans.data import BLOB_DATASETS, DATASET_LABELS, DATASETS
from scenes.kmeans.sim import ALGORITHMS, INITS, MAX_CENTROID_VALUE, MAX_CENTROIDS_CHARS, MAX_K, Simulation, \
    check_centroids_set, table

_BLOBS = {"dataset": BLOB_DATASETS}

PARAMS = (
    # Data
    Choice("dataset", "blobs", "Which data set to generate (drawn or imported points replace it).",
           choices=DATASETS, labels=DATASET_LABELS, label="Data set", group="Data"),
    Int("n_samples", 500, "How many points to generate.", minimum=10, maximum=10000, log=True, label="Samples",
        group="Data"),
    Int("true_clusters", 3, "How many gaussian blobs the data is drawn from.", minimum=1, maximum=8,
        label="True clusters", group="Data", show_if=_BLOBS),
    Float("cluster_std", 1.0, "Standard deviation of each blob around its centre (blob centres lie within ±10).",
          minimum=0.1, maximum=5.0, decimals=2, label="Cluster spread", group="Data", show_if=_BLOBS),
    Int("data_seed", 0, "Which random draw of the data set; Regenerate picks a new one.", minimum=0,
        maximum=99999, group="Data"),
    # Clustering
    Int("k", 3, f"Number of clusters K-Means looks for (1 to {MAX_K}).", minimum=1, maximum=MAX_K,
        label="k", group="Clustering"),
    Choice("init", "random_points", "How the centroids start: k random data points, the means of a random "
           "partition, k-means++ (each pick drawn with probability ∝ squared distance to the nearest pick), or "
           "placed by clicking.", choices=INITS, labels=("Random points", "Random partition", "k-means++", "Manual"),
           label="Initialisation", group="Clustering"),
    Int("n_init", 1, "Number of initialisations tried; the run shown starts from the one with the lowest final "
        "inertia.", minimum=1, maximum=20, label="Initialisations", group="Clustering",
        show_if={"init": ("random_points", "random_partition", "kmeans_plus_plus")}),
    Int("max_iter", 300, "Number of iterations (assign + update, E + M; mini-batch: batches) after which the run "
        "stops.",
        minimum=1, maximum=300, label="Max iterations", group="Clustering"),
    Choice("algorithm", "lloyd", "Lloyd's K-Means (centroids to the means of their points), mini-batch K-Means "
           "(centroids nudged towards a random batch with per-centroid learning rates) or a Gaussian mixture fitted "
           "by EM (soft responsibilities, means and covariances).", choices=ALGORITHMS,
           labels=("Lloyd (K-Means)", "Mini-batch K-Means", "Gaussian mixture (EM)"), group="Clustering"),
    Int("batch_size", 100, "Points drawn (with replacement) for each mini-batch update.", minimum=1, maximum=1024,
        log=True, label="Batch size", group="Clustering", show_if={"algorithm": ("minibatch",)}),
    # Placed and dragged centroids: set by the view (click, drag), never by a panel control.
    Text("centroids_set", "", f"Centroids placed or dragged on the plot as JSON {{\"step\": S, \"centroids\": "
         f"[[x, y], ...]}} (1 to {MAX_K} points, coordinates of size <= {MAX_CENTROID_VALUE:g}), applied at the "
         f"half-step they were set at.", max_length=MAX_CENTROIDS_CHARS, check=check_centroids_set, live=True,
         hidden=True, label="Centroids set", group="Clustering"),
)

PRESETS = (
    Preset("Well-separated blobs", {"dataset": "blobs", "true_clusters": 4, "cluster_std": 0.8, "k": 4,
                                    "init": "kmeans_plus_plus", "n_samples": 500, "data_seed": 3},
           "Four compact blobs: k-means++ spreads the picks over them and Lloyd converges in a few iterations "
           "with one centroid per blob."),
    Preset("Bad init: local optimum", {"dataset": "blobs", "true_clusters": 5, "cluster_std": 0.6, "k": 5,
                                       "init": "random_points", "n_init": 1, "n_samples": 500, "data_seed": 11},
           "Random points can put two centroids in one blob and none in another: the run converges to a worse "
           "inertia; switch init to k-means++ or raise n_init to cure it."),
    Preset("Moons: K-Means fails", {"dataset": "moons", "k": 2, "init": "kmeans_plus_plus", "n_samples": 500},
           "K-Means cuts the plane with a straight line between two centroids, so it splits each moon in half "
           "instead of separating them."),
    Preset("Anisotropic blobs", {"dataset": "anisotropic", "true_clusters": 3, "k": 3, "init": "kmeans_plus_plus",
                                 "n_samples": 500, "data_seed": 170},
           "Stretched blobs: K-Means' straight Voronoi borders cut across them; switch algorithm to Gaussian "
           "mixture to see EM fit each blob."),
    Preset("Anisotropic: EM succeeds", {"dataset": "anisotropic", "true_clusters": 3, "k": 3,
                                        "init": "kmeans_plus_plus", "algorithm": "gmm", "n_samples": 500,
                                        "data_seed": 170},
           "The same stretched blobs fitted by a Gaussian mixture: each covariance ellipse tilts along its blob "
           "and every point goes to the blob it came from."),
    Preset("Choosing k", {"dataset": "blobs", "true_clusters": 4, "cluster_std": 1.0, "k": 4,
                          "init": "kmeans_plus_plus", "n_init": 5, "n_samples": 1000, "data_seed": 8},
           "The elbow bends and the mean silhouette peaks at the number of blobs; change k to compare."),
)

EXPLAINER = """\
**K-Means** looks for k centroids so that every point is close to its nearest one. Lloyd's algorithm
alternates two **half-steps**, one per step:

* **assign**: every point takes the colour of its nearest centroid (the shading shows each centroid's region);
* **update**: every centroid moves to the mean of its points (the arrows show old → new).

Each half-step can only lower the **inertia** (the sum of squared distances to the assigned centroid), so the
run stops when no point changes cluster — but maybe in a poor local optimum. **k-means++** picks each starting
centroid with probability proportional to its squared distance from the picks so far (shown as point size).
Drag a centroid at any time: the run continues from there.

**Mini-batch** K-Means moves each centroid only part of the way towards a random batch of points (its learning
rate shrinks as it absorbs more points). A **Gaussian mixture** fitted by EM has the same two half-steps with soft
assignments: the E-step blends each point's colour by its responsibilities, the M-step moves the means and
covariance ellipses — so it can follow stretched and unequal blobs where K-Means cannot.
"""

SCENE = Scene(
    id="kmeans",
    title="K-Means clustering",
    summary="Lloyd's algorithm half-step by half-step: assign, update, k-means++ picks, empty clusters, "
            "dragged centroids, and the data where it fails.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.kmeans.view:KMeansView",
    presets=PRESETS,
    explainer=EXPLAINER,
    table=table,
    coarse_step="Step iteration",
)
