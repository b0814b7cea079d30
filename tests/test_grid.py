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


def test_range_count_is_bounded_with_the_parameter_named():
    """`--psi1 lin:1:2:100000000` ended in a MemoryError traceback."""
    with pytest.raises(ValueError, match=r"^psi1: COUNT in 'lin:1:2:100000000' must be .* 1000000"):
        parse_values("psi1", "lin:1:2:100000000")
    assert len(parse_values("psi1", "lin:1:2:1000000").values) == 1_000_000


def test_grid_size_is_bounded_before_any_point_is_made():
    axes = [parse_values("psi1", "lin:1:2:1000"), parse_values("psi2", "lin:1:2:1001")]
    with pytest.raises(ValueError, match=r"^grid: psi1 1000 x psi2 1001 is 1001000 points"):
        points(axes)
    with pytest.raises(ValueError, match="more than 1000000"):
        axes_from_mapping({"psi1": list(range(1, 1001)), "eps": list(range(1001))})
    assert grid_size(axes_from_mapping({"psi1": "lin:1:2:1000", "psi2": "lin:1:2:1000"})) == 10**6


@pytest.mark.parametrize("text", ["-0", "-0.0", "0,-0", "lin:-0:0:2"])
def test_negative_zero_is_read_as_zero(text):
    values = parse_values("noise", text).values
    assert all(v == 0.0 and np.copysign(1.0, v) == 1.0 for v in values)
    (value,) = axes_from_mapping({"noise": [-0.0]})[0].values
    assert np.copysign(1.0, value) == 1.0
