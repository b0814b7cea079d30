"""Grid syntax shared by `advrf theory` and `advrf sweep`."""

import numpy as np
import pytest

from advrf.grid import axes_from_mapping, grid_size, parse_values, points


def test_number_list_and_ranges():
    assert parse_values("psi1", "2").values == (2.0,)
    assert parse_values("psi1", "0.5,1,2").values == (0.5, 1.0, 2.0)
    lin = parse_values("eps", "lin:0:1:5")
    assert lin.values == (0.0, 0.25, 0.5, 0.75, 1.0) and not lin.log
    log = parse_values("psi1", "log:0.1:100:4")
    assert np.allclose(log.values, [0.1, 1, 10, 100]) and log.log


@pytest.mark.parametrize("text", ["", "abc", "lin:0:1", "log:0:1:3", "lin:0:1:0", "lin:0:1:x"])
def test_bad_values_name_the_parameter(text):
    with pytest.raises(ValueError, match="^psi1: "):
        parse_values("psi1", text)


def test_points_in_grid_order():
    axes = axes_from_mapping({"psi1": "1,2", "eps": "0.1,0.2,0.3", "activation": "relu,tanh"})
    pts = list(points(axes))
    assert grid_size(axes) == len(pts) == 12
    assert pts[0] == {"psi1": 1.0, "eps": 0.1, "activation": "relu"}
    assert pts[1] == {"psi1": 1.0, "eps": 0.1, "activation": "tanh"}
    assert pts[-1] == {"psi1": 2.0, "eps": 0.3, "activation": "tanh"}
