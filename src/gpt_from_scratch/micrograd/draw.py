"""Draw the expression graph behind a `Value` with matplotlib, left (inputs) to right (output).

Each Value is a box showing its label, data and grad; each operation is a small circle between
its inputs and its output. Each Value sits one column left of its first use, the output at the
right. No graphviz needed, and no recursion, so any depth is fine.
"""

import matplotlib.pyplot as plt

from gpt_from_scratch.micrograd.engine import topological_order


def graph_users(root):
    """Map each Value under `root` to the list of Values computed from it (root maps to [])."""
    users = {}
    for node in topological_order(root):
        users[node] = []
        for child in node._prev:
            users[child].append(node)
    return users


def graph_columns(root):
    """Map each Value under `root` to its column, with `root` rightmost and inputs to the left.

    `root` sits at the depth of the graph (the longest path from a leaf), and every other Value
    one column left of the first Value that uses it, so each Value is drawn next to where it is
    used and arrows stay short.

    >>> from gpt_from_scratch.micrograd.engine import Value
    >>> a = Value(1.0); b = a * 2; c = b + 3
    >>> [graph_columns(c)[v] for v in (a, b, c._prev[1], c)]
    [0, 1, 1, 2]
    """
    users = graph_users(root)
    depth = {}
    for node in users:  # in topological order: inputs first, so their depths are known
        depth[node] = 1 + max((depth[c] for c in node._prev), default=-1)
    column = {}
    for node in reversed(list(users)):  # users first, so their columns are known
        column[node] = min((column[u] for u in users[node]), default=depth[root] + 1) - 1
    return column


def graph_rows(root, column):
    """Place the entries of each column on rows, each near the mean row of what it feeds.

    An arrow that skips columns gets a waypoint `(input, user, column)` in each column it
    crosses, which takes a row like a Value, so long arrows run between the boxes instead of
    through them. Columns are filled from the output leftwards, each ordered by the mean row of
    what its entries feed in the next column (the "barycenter" rule), which keeps most arrows
    short and uncrossed. Returns a dict from every Value and waypoint to its row.
    """
    users = graph_users(root)
    feeds = {}  # Value or waypoint -> the entries it connects to in the next column
    for node in reversed(list(users)):
        feeds.setdefault(node, [])
        for user in dict.fromkeys(users[node]):  # a + a: one user, listed twice
            previous = node
            for col in range(column[node] + 1, column[user]):
                waypoint = (node, user, col)
                feeds[previous].append(waypoint)
                feeds[waypoint] = []
                previous = waypoint
            feeds[previous].append(user)
    by_column = {}
    for entry in feeds:
        col = entry[2] if isinstance(entry, tuple) else column[entry]
        by_column.setdefault(col, []).append(entry)
    row = {}
    for col in sorted(by_column, reverse=True):
        entries = by_column[col]
        entries.sort(key=lambda e: sum(row[f] for f in feeds[e]) / max(1, len(feeds[e])))
        for i, entry in enumerate(entries):
            row[entry] = i - (len(entries) - 1) / 2
    return row


def _value_text(node):
    name = node.label or node._op or "const"
    return f"{name}\ndata {node.data:.4f}\ngrad {node.grad:.4f}"


def draw_graph(root, ax=None, width_per_column=1.9, height_per_row=1.1):
    """Draw the graph that computed `root`; returns the matplotlib Figure."""
    column = graph_columns(root)
    row = graph_rows(root, column)
    n_columns = max(column.values()) + 1
    entry_columns = [e[2] if isinstance(e, tuple) else column[e] for e in row]
    n_rows = max(entry_columns.count(col) for col in range(n_columns))
    if ax is None:
        size = (width_per_column * n_columns, max(2.0, height_per_row * n_rows + 0.6))
        _, ax = plt.subplots(figsize=size)
    box = {"boxstyle": "round,pad=0.3", "facecolor": "#eef3fb", "edgecolor": "#3b6ea8"}
    circle = {"boxstyle": "circle,pad=0.2", "facecolor": "#fdf1d8", "edgecolor": "#b07d1a"}
    arrow = {"arrowstyle": "-|>", "color": "0.4", "shrinkA": 1, "shrinkB": 1, "lw": 0.8}

    def draw_text(x, y, text, style):
        artist = ax.text(x, y, text, ha="center", va="center", fontsize=10, bbox=style)
        return artist.get_bbox_patch()

    def draw_arrow(start, end, start_patch, end_patch, bend=0.0, head=True):
        style = dict(arrow, patchA=start_patch, patchB=end_patch)
        style["connectionstyle"] = f"arc3,rad={bend}"
        if not head:  # a segment that stops at a waypoint
            style.update(arrowstyle="-", shrinkB=0)
        ax.annotate("", xy=end, xytext=start, arrowprops=style)

    patch = {node: draw_text(column[node], -row[node], _value_text(node), box) for node in column}
    for node in column:
        if not node._prev:
            continue
        x, y = column[node], -row[node]
        op_x = x - 0.5  # the operation sits halfway between its inputs' column and its output
        op_patch = draw_text(op_x, y, node._op, circle)
        draw_arrow((op_x, y), (x, y), op_patch, patch[node])
        for i, child in enumerate(node._prev):
            # A Value used twice by one operation (a + a) gets two arrows, bent apart.
            bend = (0.3 if i == 0 else -0.3) if node._prev.count(child) > 1 else 0.0
            waypoints = [(c, -row[(child, node, c)]) for c in range(column[child] + 1, x)]
            points = [(column[child], -row[child])] + waypoints + [(op_x, y)]
            for k in range(len(points) - 1):
                last = k == len(points) - 2
                start_patch = patch[child] if k == 0 else None
                draw_arrow(
                    points[k],
                    points[k + 1],
                    start_patch,
                    op_patch if last else None,
                    bend,
                    head=last,
                )
    ax.set_xlim(-0.5, n_columns - 0.5)
    ax.set_ylim(-(n_rows / 2), n_rows / 2)
    ax.axis("off")
    return ax.figure
