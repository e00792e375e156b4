"""Decision boundaries: linear models, SVM, k-NN, naive Bayes, discriminant analysis, Gaussian process,
neural network, trees and ensembles on 2-D data."""
from explorer.scene import Preset, Scene
from scenes.decision_boundaries.sim import PARAMS, Simulation, table

SCENE = Scene(
    id="decision-boundaries",
    title="Decision boundaries",
    summary="Where classifiers draw the line: linear models, SVM, k-NN, discriminant analysis, Gaussian process, "
            "neural network, trees and ensembles on 2-D data, built up one boosting stage, tree or depth level per step.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.decision_boundaries.view:DecisionBoundaryView",
    presets=(
        Preset("Kernel trick", {"dataset": "circles", "classifier": "svm", "svm_kernel": "rbf"},
               "A straight line cannot split circles; an RBF kernel can."),
        Preset("Linear model on moons", {"dataset": "moons", "classifier": "logistic", "logistic_degree": 1},
               "Logistic regression draws one straight line; raise the degree to bend it."),
        Preset("Growing a tree", {"dataset": "xor", "classifier": "tree", "tree_max_depth": 8},
               "Step to grow the tree one level at a time; watch the axis-aligned splits."),
        Preset("Boosting stage by stage", {"dataset": "spiral", "classifier": "gradient_boosting",
                                           "gb_n_estimators": 150, "n_classes": 2},
               "Each step adds one boosting stage; the accuracy plot shows train and test."),
        Preset("Classifier comparison", {"dataset": "moons", "compare": True},
               "scikit-learn's classifier comparison, on your data."),
        Preset("Neural network on a spiral", {"dataset": "spiral", "n_classes": 2, "n_samples": 300, "noise": 0.1,
                                              "classifier": "mlp", "mlp_hidden_layers": "10,10",
                                              "mlp_activation": "tanh", "mlp_learning_rate_init": 0.03,
                                              "mlp_max_iter": 500},
               "Two small hidden layers bend the boundary around the arms; lower Max epochs to see it unfinished."),
        Preset("Gaussian process: confidence fades", {"dataset": "moons", "classifier": "gaussian_process"},
               "Away from the data the Gaussian process's probabilities fall back towards 50%."),
    ),
    explainer=(
        "Each colour is a class; the stronger the colour, the more confident the model. Filled points "
        "are training data, outlined points are held-out test data, crosses are misclassified. Click to add "
        "a point of the selected class, shift- or right-click to remove the nearest one."
    ),
    table=table,
)
