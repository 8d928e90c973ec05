"""The graph figure: columns, rows, and one box per Value plus one circle per operation."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from gpt_from_scratch.micrograd.draw import draw_graph, graph_columns, graph_rows  # noqa: E402
from gpt_from_scratch.micrograd.engine import Value  # noqa: E402


def neuron():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.5, label="b")
    return x, w, b, (x * w + b).tanh()


def test_every_value_is_right_of_its_inputs_and_the_output_is_last():
    x, w, b, out = neuron()
    column = graph_columns(out)
    for node in column:
        for child in node._prev:
            assert column[child] < column[node]
    assert column[out] == max(column.values()) == 3
    assert column[b] == 1  # a leaf sits just left of where it is used


def test_rows_in_a_column_are_distinct():
    *_, out = neuron()
    column = graph_columns(out)
    row = graph_rows(out, column)
    for col in set(column.values()):
        rows = [row[v] for v in column if column[v] == col]
        assert len(rows) == len(set(rows))


def test_figure_has_a_box_per_value_and_a_circle_per_operation():
    x, w, b, out = neuron()
    out.backward()
    fig = draw_graph(out)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows have no text
    assert sum("data" in t for t in texts) == 6  # x, w, b, x*w, x*w + b, tanh
    assert sorted(t for t in texts if "data" not in t) == ["*", "+", "tanh"]
    # d tanh(n)/dw = (1 - tanh(0.5)^2) * x = 0.7864 * 2
    assert "w\ndata -3.0000\ngrad 1.5729" in texts
    plt.close(fig)


def test_a_deep_chain_draws_without_recursion():
    y = Value(1.0)
    for _ in range(3000):
        y = y + 1.0
    assert graph_columns(y)[y] == 3000


def test_an_arrow_that_skips_columns_gets_a_waypoint_in_each():
    a = Value(0.5)
    c = (a * 2).exp() + a  # a feeds the * in column 1 and the + in column 3
    column = graph_columns(c)
    row = graph_rows(c, column)
    assert (column[a], column[c]) == (0, 3)
    assert (a, c, 1) in row and (a, c, 2) in row
