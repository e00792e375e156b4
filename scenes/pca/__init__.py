"""PCA: principal component analysis, step by step on a cloud you shape, then on real data
(iris, wine, breast cancer, digits) and where linear PCA fails (kernel PCA on circles)."""
from __future__ import annotations

from explorer.scene import Preset, Scene
from scenes.pca.sim import PARAMS, Simulation, table

PRESETS = (
    Preset("2-D story: find PC1", {"dataset": "cloud_2d", "spread_1": 3.0, "spread_2": 1.0, "rotation": 30.0,
                                   "noise": 0.0, "n_samples": 300, "big_scale": False, "standardize": False},
           "Step through it: centre the cloud, form its covariance, watch power iteration turn a random "
           "direction onto PC1, then see the points slide onto the PC1 line."),
    Preset("Drag your own axis", {"dataset": "cloud_2d", "spread_1": 2.5, "spread_2": 1.2, "rotation": -40.0,
                                  "axis_angle": 45.0, "n_samples": 300},
           "Drag on the plot to turn your own projection axis: no direction captures more variance, or leaves "
           "a smaller reconstruction error, than PC1."),
    Preset("Feature scale decides", {"dataset": "cloud_2d", "spread_1": 1.0, "spread_2": 1.0, "rotation": 45.0,
                                     "noise": 0.3, "big_scale": True, "standardize": False},
           "Feature 1 is measured in units ten times smaller: PC1 simply follows it. Switch on Standardise and "
           "the components come from the correlation, not from the units."),
    Preset("3-D cloud onto a plane", {"dataset": "cloud_3d", "spread_1": 3.0, "spread_2": 1.5, "spread_3": 0.4,
                                      "rotation": 20.0, "azimuth": -60.0, "elevation": 25.0},
           "A flattened 3-D cloud: PC1 and PC2 span its plane and PC3 its thin side; drag to rotate the view, "
           "step to see the points drop onto the PC1-PC2 plane."),
    Preset("Iris in two components", {"dataset": "iris", "standardize": True, "components": 2, "pc_x": 1, "pc_y": 2},
           "Four flower measurements, standardised: two components keep about 96 % of the variance, and the "
           "three species separate along PC1; the arrows show each measurement's loadings."),
    Preset("Wine: standardise or not", {"dataset": "wine", "standardize": False, "components": 2},
           "Unstandardised, proline (values in the hundreds) is almost all of PC1; switch on Standardise and the "
           "three cultivars separate."),
    Preset("Digits reconstruction", {"dataset": "digits", "standardize": False, "components": 10, "pc_x": 1,
                                     "pc_y": 2},
           "64-pixel digits rebuilt from 10 components keep their shape; drag Components kept from 1 to 64 and "
           "watch the reconstructions and the error."),
    Preset("Circles: kernel PCA", {"dataset": "circles", "n_samples": 400, "noise": 0.0, "gamma": 5.0},
           "Two concentric rings: every linear direction mixes them, but kernel PCA with an RBF kernel puts the "
           "inner ring apart from the outer one on its first component."),
)

EXPLAINER = """\
**Principal component analysis** finds the directions along which the data vary most. After the data are
**centred** (and optionally **standardised**), the covariance matrix C summarises how the features vary
together; its eigenvectors are the **principal components**, its eigenvalues the variance along each.

Step through the story: **power iteration** (v ← Cv / |Cv|) turns any start direction onto PC1; PC2 is the
best direction orthogonal to it. **Projecting** onto the first k components keeps the most variance and leaves
the least squared reconstruction error of any k-dimensional projection — drag your own axis to check.

The **scree plot** shows each component's share of the variance and the running total. Linear PCA cannot
unfold curved structure: on circles, **kernel PCA** (RBF kernel) separates what PCA cannot.
"""

SCENE = Scene(
    id="pca",
    title="PCA",
    summary="Principal components step by step: centre, covariance, power iteration, projection; iris, wine, "
            "breast cancer, digits reconstruction and kernel PCA.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.pca.view:PCAView",
    presets=PRESETS,
    explainer=EXPLAINER,
    table=table,
)
