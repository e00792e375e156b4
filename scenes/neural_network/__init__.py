"""Neural-network playground: TensorFlow Playground's network, data and controls, natively, plus
multi-class data, optimisers, initialisations, dropout, early stopping and gradient flow."""
from __future__ import annotations

from explorer.params import Bool, Choice, Float, Int, Text
from explorer.scene import Preset, Scene
from scenes.neural_network import net
from scenes.neural_network.data import (CLASSIFICATION_DATASETS, CLASSIFICATION_LABELS, FEATURE_LABELS, FEATURES,
                                        MAX_NOISE, REGRESSION_DATASETS, REGRESSION_LABELS)
from scenes.neural_network.sim import (EXPONENTIAL_END, MAX_EDIT_VALUE, MAX_EDITS_CHARS, PROBLEMS, SCHEDULES,
                                       Simulation, check_weight_edits)

MAX_LAYERS = 6
MAX_NEURONS = 8
_DEFAULT_NEURONS = (4, 2, 2, 2, 2, 2)
_CLASSIFICATION = {"problem": ("classification",)}
_FEATURE_HELP = {
    "x1": "Feed the first coordinate X₁ to the network as an input.",
    "x2": "Feed the second coordinate X₂ to the network as an input.",
    "x1_squared": "Feed X₁² to the network as an input (round boundaries need squares).",
    "x2_squared": "Feed X₂² to the network as an input (round boundaries need squares).",
    "x1_x2": "Feed the product X₁·X₂ to the network as an input (the XOR pattern in one feature).",
    "sin_x1": "Feed sin(X₁) to the network as an input (a wavy feature that helps with spirals).",
    "sin_x2": "Feed sin(X₂) to the network as an input (a wavy feature that helps with spirals).",
}

PARAMS = (
    # Data
    Choice("problem", "classification", "Classification colours the plane by class; regression fits a "
           "number (about -1 to 1) at every point.", choices=PROBLEMS, labels=("Classification", "Regression"),
           group="Data"),
    Choice("dataset", "circle", "Which of the playground's classification data sets to generate (drawn or "
           "imported points replace it).", choices=CLASSIFICATION_DATASETS, labels=CLASSIFICATION_LABELS,
           group="Data", show_if=_CLASSIFICATION),
    Choice("regression_dataset", "plane", "Which of the playground's regression data sets to generate.",
           choices=REGRESSION_DATASETS, labels=REGRESSION_LABELS, label="Data set", group="Data",
           show_if={"problem": ("regression",)}),
    Int("n_classes", 2, "Number of classes of the Gaussian and spiral data (3 to 5 use a softmax output).",
        minimum=2, maximum=5, label="Classes", group="Data",
        show_if={"problem": ("classification",), "dataset": ("gauss", "spiral")}),
    Int("n_samples", 500, "How many points to generate, training and test together (the playground uses 500).",
        minimum=20, maximum=1000, log=True, label="Samples", group="Data"),
    Float("train_fraction", 0.5, "Share of the points the network trains on; the rest are the test set.",
          minimum=0.1, maximum=0.9, decimals=2, label="Training share", group="Data"),
    Int("noise", 0, f"How far the points are shaken before their label is read, in percent of the square "
        f"(0 to {MAX_NOISE}, as in the playground).", minimum=0, maximum=MAX_NOISE, group="Data"),
    Int("data_seed", 0, "Which random draw of the data set; Regenerate picks a new one.", minimum=0,
        maximum=99999, group="Data"),
    # Features
    *(Bool(f"feature_{name}", name in ("x1", "x2"), _FEATURE_HELP[name], label=label, group="Features")
      for name, label in zip(FEATURES, FEATURE_LABELS)),
    # Network
    Int("hidden_layers", 2, f"Number of hidden layers between the inputs and the output (0 to {MAX_LAYERS}).",
        minimum=0, maximum=MAX_LAYERS, group="Network"),
    *(Int(f"neurons_{i}", _DEFAULT_NEURONS[i - 1], f"Number of neurons in hidden layer {i} (1 to {MAX_NEURONS}).",
          minimum=1, maximum=MAX_NEURONS, label=f"Neurons in layer {i}", group="Network",
          show_if={"hidden_layers": tuple(range(i, MAX_LAYERS + 1))})
      for i in range(1, MAX_LAYERS + 1)),
    Choice("activation", "tanh", "The function every hidden neuron applies to its weighted sum.",
           choices=net.ACTIVATIONS, labels=("ReLU", "Tanh", "Sigmoid", "Linear"), group="Network"),
    Choice("init", "xavier", "How the weights start: Xavier (variance 2 / (fan-in + fan-out)), He "
           "(variance 2 / fan-in) or all zeros (every neuron of a layer then stays identical).",
           choices=net.INITS, labels=("Xavier", "He", "Zeros"), label="Initialisation", group="Network"),
    Choice("loss", "cross_entropy", "What training minimises: the cross-entropy of the true class or the "
           "squared error of the output probabilities.", choices=net.LOSSES,
           labels=("Cross-entropy", "Squared error"), group="Network", show_if=_CLASSIFICATION),
    Float("dropout", 0.0, "Share of hidden neurons switched off at random in each training batch (0: none).",
          minimum=0.0, maximum=0.9, decimals=2, live=True, group="Network"),
    # Training
    Float("learning_rate", 0.03, "Step size of every weight update; too large and the loss blows up.",
          minimum=1e-5, maximum=10.0, log=True, decimals=5, live=True, group="Training"),
    Choice("optimizer", "sgd", "How the gradient becomes an update: plain SGD, SGD with momentum, or Adam.",
           choices=net.OPTIMIZERS, labels=("SGD", "Momentum", "Adam"), group="Training"),
    Float("momentum", 0.9, "Share of the previous update the momentum optimiser carries into the next one.",
          minimum=0.0, maximum=0.99, decimals=2, live=True, group="Training",
          show_if={"optimizer": ("momentum",)}),
    Choice("schedule", "constant", f"How the learning rate changes over max epochs: constant, halved at every "
           f"quarter (step), decayed to {EXPONENTIAL_END:.0%} (exponential), or annealed to 0 (cosine).",
           choices=SCHEDULES, labels=("Constant", "Step decay", "Exponential", "Cosine"), live=True,
           group="Training"),
    Choice("regularization", "none", "Penalty on the weights added to the loss: none, L1 (rate · sum |w|, "
           "drives weights to 0) or L2 (rate · ½ sum w², shrinks them).", choices=net.REGULARIZATIONS,
           labels=("None", "L1", "L2"), label="Regularisation", live=True, group="Training"),
    Float("regularization_rate", 0.003, "Strength of the L1 or L2 penalty on the weights (biases are not "
          "penalised).", minimum=0.0, maximum=10.0, decimals=4, live=True, label="Regularisation rate",
          group="Training", show_if={"regularization": ("l1", "l2")}),
    Int("batch_size", 10, "Training points per weight update (an epoch makes one pass over them all).",
        minimum=1, maximum=30, group="Training"),
    Bool("early_stopping", False, "Hold out part of the training points for validation and stop once their "
         "loss stops improving, keeping the best epoch's weights.", group="Training"),
    Int("patience", 20, "Epochs without a new lowest validation loss after which training stops.",
        minimum=1, maximum=500, live=True, group="Training", show_if={"early_stopping": (True,)}),
    Float("validation_fraction", 0.2, "Share of the training points held out to validate for early stopping.",
          minimum=0.05, maximum=0.5, decimals=2, label="Validation share", group="Training",
          show_if={"early_stopping": (True,)}),
    Int("max_epochs", 1000, "Number of epochs after which training stops (the schedules span them).",
        minimum=1, maximum=10000, log=True, label="Max epochs", group="Training"),
    # View
    Bool("discretize", False, "Colour the output map by the predicted class instead of the probability.",
         label="Discretise output", live=True, group="View"),
    Bool("show_test", False, "Also draw the test points (outlined) on the output map.", label="Show test data",
         live=True, group="View"),
    # Typed weights: set by clicking a weight in the diagram, never by a panel control.
    Text("weight_edits", "", f"Weights typed in the diagram as JSON {{\"step\": S, \"sizes\": [...], \"edits\": "
         f"[[layer, i, j, value], ...]}} (i = -1: the bias; |value| <= {MAX_EDIT_VALUE:g}; sizes, optional, the "
         f"network they fit), applied at the epoch they were typed at.", max_length=MAX_EDITS_CHARS, check=check_weight_edits, live=True, hidden=True,
         group="Network"),
)

_ONLY_XY = {f"feature_{name}": name in ("x1", "x2") for name in FEATURES}
_NO_FEATURES = {f"feature_{name}": False for name in FEATURES}

PRESETS = (
    Preset("Spiral: depth", {"dataset": "spiral", "n_classes": 2, "noise": 0, **_ONLY_XY, "hidden_layers": 4,
                             "neurons_1": 8, "neurons_2": 8, "neurons_3": 8, "neurons_4": 8, "activation": "tanh",
                             "optimizer": "adam", "learning_rate": 0.01, "max_epochs": 500},
           "From X₁ and X₂ alone only several layers can bend the boundary along both arms: watch the "
           "deeper neurons' maps curl and the test loss fall; try 1 layer to see it fail."),
    Preset("Spiral: sin features", {"dataset": "spiral", "n_classes": 2, "noise": 0, **_ONLY_XY,
                                    "feature_sin_x1": True, "feature_sin_x2": True, "hidden_layers": 1,
                                    "neurons_1": 8, "activation": "tanh", "optimizer": "adam",
                                    "learning_rate": 0.01, "max_epochs": 500},
           "With sin(X₁) and sin(X₂) as inputs one hidden layer follows the arms; turn the sin features "
           "off and the same layer cannot (compare the test accuracy)."),
    Preset("XOR: X₁X₂", {"dataset": "xor", **_NO_FEATURES, "feature_x1_x2": True, "hidden_layers": 0,
                         "learning_rate": 0.03, "max_epochs": 200},
           "The product X₁·X₂ is the XOR pattern itself, so no hidden layer is needed: one weight on it "
           "splits the quadrants within a few epochs."),
    Preset("Rate too large", {"problem": "regression", "regression_dataset": "plane", "activation": "tanh",
                              "learning_rate": 3.0},
           "At learning rate 3 each step overshoots the minimum further than the last: the weights blow up "
           "within the first epoch and the status says the run diverged; at 0.1 test R² passes 0.9 in 10 epochs."),
    Preset("L2 vs overfit", {"dataset": "xor", "noise": 50, "n_samples": 200, "train_fraction": 0.5,
                             **{f"feature_{name}": True for name in FEATURES}, "hidden_layers": 3,
                             "neurons_1": 8, "neurons_2": 8, "neurons_3": 8, "optimizer": "adam",
                             "learning_rate": 0.01, "regularization": "l2", "regularization_rate": 0.03,
                             "max_epochs": 500},
           "Noisy XOR with every feature: L2 keeps the boundary smooth and the test loss near the training "
           "loss; switch regularisation to none mid-run and watch the boundary wrap single points."),
    Preset("Zero init", {"dataset": "circle", "init": "zeros", "activation": "sigmoid", "hidden_layers": 2,
                         "neurons_1": 4, "neurons_2": 4, "learning_rate": 0.3},
           "All-zero weights make every neuron of a layer compute the same thing and get the same update: "
           "look at the identical neuron maps in each layer, which never become different."),
    Preset("Vanishing gradient", {"dataset": "circle", "activation": "sigmoid", "hidden_layers": 6,
                                  **{f"neurons_{i}": 8 for i in range(1, 7)}, "learning_rate": 0.03},
           "Six sigmoid layers shrink the gradient at each layer: the gradient-flow panel shows the first "
           "layer's gradient orders of magnitude below the last's; switch to ReLU to compare."),
    Preset("ReLU: no vanishing", {"dataset": "circle", "activation": "relu", "init": "he", "hidden_layers": 6,
                                        **{f"neurons_{i}": 8 for i in range(1, 7)}, "learning_rate": 0.03},
           "The same six layers of eight with ReLU (slope 1 where active) and He initialisation: every layer's "
           "gradient stays within about one order of magnitude and the circle is learnt; compare with the "
           "sigmoid preset."),
    Preset("Dropout", {"dataset": "xor", "noise": 35, "n_samples": 200, "hidden_layers": 2, "neurons_1": 8,
                       "neurons_2": 8, "activation": "relu", "optimizer": "adam", "learning_rate": 0.01,
                       "dropout": 0.3, "max_epochs": 500},
           "Dropout switches off 30 % of the hidden neurons in each batch, so no neuron can memorise a noisy "
           "point: compare the gap between train and test loss with dropout 0."),
    Preset("Early stopping", {"dataset": "gauss", "noise": 50, "n_samples": 200, "hidden_layers": 3,
                              "neurons_1": 8, "neurons_2": 8, "neurons_3": 8, "optimizer": "adam",
                              "learning_rate": 0.01, "early_stopping": True, "patience": 30,
                              "max_epochs": 2000},
           "The validation loss bottoms out and rises as the network starts fitting noise: training stops "
           "after 30 epochs without improvement and the best epoch's weights come back (marked on the curves)."),
    Preset("3-class spiral", {"dataset": "spiral", "n_classes": 3, "noise": 5, **_ONLY_XY,
                              "feature_sin_x1": True, "feature_sin_x2": True, "hidden_layers": 3,
                              "neurons_1": 8, "neurons_2": 8, "neurons_3": 8, "optimizer": "adam",
                              "learning_rate": 0.01, "max_epochs": 500},
           "Three arms need a softmax output of three probabilities: watch the confusion matrix fill its "
           "diagonal as the three colours separate."),
)

EXPLAINER = """\
A small **neural network** learns to colour the plane: every neuron shows its own output over the input
square, and the big map shows the network's output with the training points (test points when shown).
Each step is one **epoch**: one pass over the training points in mini-batches.

* **Features** are what the network sees; with the right one (X₁X₂ for XOR) no hidden layer is needed.
* **Weights** are drawn orange (positive) and blue (negative), thicker when larger — the colours of the maps,
  where orange is high and blue low; hover one to read it, click it to type a value.
* The **loss curves** show training, test and validation loss (without the penalty); the **gradient flow**
  shows how much each layer's weights are pushed — deep sigmoid networks starve the first layers.
* Learning rate, schedule, regularisation, dropout and patience apply live, from the next epoch.
"""

SCENE = Scene(
    id="neural-network",
    title="Neural network playground",
    summary="TensorFlow Playground natively: a small MLP learning 2-D data, every neuron's map, live controls, "
            "gradient flow and early stopping.",
    params=PARAMS,
    simulation=Simulation,
    view="scenes.neural_network.view:NeuralNetworkView",
    presets=PRESETS,
    explainer=EXPLAINER,
)
