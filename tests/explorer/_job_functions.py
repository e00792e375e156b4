"""Jobs for the runner tests: pickled by reference, so a worker imports only this small module."""
import os
import time


def slow(value, seconds=30.0):
    time.sleep(seconds)
    return value


def spin():
    while True:
        pass


def identity(value):
    return value


def times_ten(value):
    return value * 10


def pid():
    return os.getpid()


def broken():
    raise ValueError("singular matrix")


def unpicklable_result():
    return lambda: 1


def crash():
    os._exit(3)


def never_ending_simulation(params, seed=0, data=None):
    """A decision-boundaries run whose fit never ends when tree_max_depth is 17 (as libsvm's
    unlimited max_iter did in issue 16); any other setting builds the real run."""
    from explorer import scene as registry

    if int(params["tree_max_depth"]) == 17:
        while True:
            pass
    return registry.get("decision-boundaries").simulation(params, seed, data)


def never_ending_descent(params, seed=0, data=None):
    """A gradient-descent run that never finishes building when max_steps is 777."""
    from explorer import scene as registry

    if int(params["max_steps"]) == 777:
        while True:
            pass
    simulation = registry.get("gradient-descent").simulation
    return simulation(params, seed) if data is None else simulation(params, seed, data)
