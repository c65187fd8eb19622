"""Exact TreeSHAP by per-leaf tables (the "Fast TreeSHAP v2" idea), compiled with numba.

For a leaf with unique path features F (|F| = d), a row's SHAP contribution through that leaf
depends only on which of the d path conditions the row satisfies (its "hot" mask, 2^d cases).
So each leaf gets a table T[mask, k] = v * (o_k - z_k) * sum_{S ⊆ hot \\ {k}} w(|S|, d)
* prod_{j in F \\ S \\ {k}} z_j (z = cover fractions, o = hot indicator), built once per model.
Scoring a row is then: evaluate the tree's split decisions, build each leaf's mask, add d table
entries. Rows are processed in blocks, tree by tree, so a tree's tables stay in cache.
Split decisions follow LightGBM's rules (missing types, default direction, categorical bitsets).
"""

from __future__ import annotations

import os
import sys
import threading

import numba
import numpy as np

MAX_TABLE_ENTRIES = 30_000_000  # above this (deep trees), the caller falls back to pred_contrib
_KZERO = 1e-35


class Tables:
    """Flat numpy arrays describing the trees, their leaves' paths and SHAP tables."""

    def __init__(self, dump: dict, n_iter: int | None) -> None:
        trees = dump["tree_info"][: n_iter or None]
        self.n_features = len(dump["feature_names"])
        nodes = {"feat": [], "thr": [], "cat": [], "dleft": [], "miss": [], "cstart": [], "clen": []}
        cats: list[int] = []
        leaves = {"val": [], "d": [], "nsplit": [], "cover": []}
        split_node, split_dir, split_k, leaf_feat = [], [], [], []
        tree_node_start, tree_leaf_start = [0], [0]
        self.expected = 0.0
        for tree in trees:
            base = len(nodes["feat"])
            root = tree["tree_structure"]
            if "split_index" not in root:  # a single-leaf tree only moves the bias
                self.expected += root["leaf_value"]
                tree_node_start.append(base)
                tree_leaf_start.append(len(leaves["val"]))
                continue
            total = root["internal_count"]
            stack = [(root, [])]
            while stack:
                node, path = stack.pop()
                if "leaf_index" in node:
                    uniq: list[int] = []
                    zs: list[float] = []
                    sn, sd, sk = [], [], []
                    for nid, feat, left, frac in path:
                        if feat not in uniq:
                            uniq.append(feat)
                            zs.append(1.0)
                        k = uniq.index(feat)
                        zs[k] *= frac
                        sn.append(nid), sd.append(left), sk.append(k)
                    leaves["val"].append(node["leaf_value"])
                    leaves["d"].append(len(uniq))
                    leaves["nsplit"].append(len(path))
                    leaves["cover"].append(zs)
                    split_node.append(sn), split_dir.append(sd), split_k.append(sk), leaf_feat.append(uniq)
                    self.expected += node["leaf_value"] * node["leaf_count"] / total
                    continue
                nid = base + node["split_index"]
                while len(nodes["feat"]) <= nid:
                    for v in nodes.values():
                        v.append(0)
                nodes["feat"][nid] = node["split_feature"]
                nodes["dleft"][nid] = int(node["default_left"])
                nodes["miss"][nid] = {"None": 0, "Zero": 1, "NaN": 2}[node["missing_type"]]
                if node["decision_type"] == "==":
                    levels = [int(c) for c in str(node["threshold"]).split("||")]
                    nodes["cat"][nid] = 1
                    nodes["cstart"][nid] = len(cats)
                    nodes["clen"][nid] = len(levels)
                    cats.extend(sorted(levels))
                else:
                    nodes["thr"][nid] = float(node["threshold"])
                n = node["internal_count"]
                for child, left in ((node["left_child"], 1), (node["right_child"], 0)):
                    count = child.get("internal_count", child.get("leaf_count"))
                    stack.append((child, path + [(nid, node["split_feature"], left, count / n)]))
            tree_node_start.append(len(nodes["feat"]))
            tree_leaf_start.append(len(leaves["val"]))
        self.node_feat = np.asarray(nodes["feat"], np.int32)
        self.node_thr = np.asarray(nodes["thr"], np.float64)
        self.node_cat = np.asarray(nodes["cat"], np.int8)
        self.node_dleft = np.asarray(nodes["dleft"], np.int8)
        self.node_miss = np.asarray(nodes["miss"], np.int8)
        self.node_cstart = np.asarray(nodes["cstart"], np.int64)
        self.node_clen = np.asarray(nodes["clen"], np.int64)
        self.cats = np.asarray(cats or [0], np.int64)
        self.tree_node_start = np.asarray(tree_node_start, np.int64)
        self.tree_leaf_start = np.asarray(tree_leaf_start, np.int64)
        n_leaves = len(leaves["val"])
        depth = max([len(p) for p in split_node] + [1])
        self.d = np.asarray(leaves["d"], np.int64)
        self.nsplit = np.asarray(leaves["nsplit"], np.int64)
        self.split_node = np.full((n_leaves, depth), 0, np.int64)
        self.split_dir = np.zeros((n_leaves, depth), np.int8)
        self.split_k = np.zeros((n_leaves, depth), np.int64)
        width = max([len(f) for f in leaf_feat] + [1])
        self.leaf_feat = np.zeros((n_leaves, width), np.int64)
        self.cover = np.ones((n_leaves, width), np.float64)
        for i in range(n_leaves):
            m = len(split_node[i])
            self.split_node[i, :m], self.split_dir[i, :m], self.split_k[i, :m] = (
                split_node[i],
                split_dir[i],
                split_k[i],
            )
            f = leaf_feat[i]
            self.leaf_feat[i, : len(f)] = f
            self.cover[i, : len(f)] = leaves["cover"][i]
        sizes = (1 << self.d) * self.d
        self.offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.size = int(self.offset[-1])
        self.leaf_val = np.asarray(leaves["val"], np.float64)

    def build(self, low_priority: bool = False) -> None:
        """Fill the tables (seconds for deep trees). With `low_priority`, in a thread of its own
        at the lowest CPU priority: the kernel holds no GIL, so a serving process keeps answering
        from its current tables while the new ones use only CPU that nothing else wants."""
        args = (self.leaf_val, self.d, self.cover, self.offset)
        if not low_priority:
            self.table = _build_tables(*args)
            return
        done: dict = {}

        def work() -> None:
            lower_thread_priority()
            done["table"] = _build_tables(*args)

        thread = threading.Thread(target=work, name="needradar-shap-tables", daemon=True)
        thread.start()
        thread.join()
        self.table = done["table"]  # a KeyError here means the build failed (logged by the thread)


def lower_thread_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux: nice 19 applies per thread)."""
    if sys.platform.startswith("linux"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


@numba.njit(cache=True, nogil=True)
def _build_tables(val, d, cover, offset):
    table = np.zeros(offset[-1])
    maxd = cover.shape[1]
    # Shapley weights w[s, n] = s! (n - s - 1)! / n!
    w = np.zeros((maxd + 1, maxd + 1))
    for n in range(1, maxd + 1):
        for s in range(n):
            f = 1.0
            for a in range(1, s + 1):
                f *= a
            for a in range(1, n - s):
                f *= a
            for a in range(1, n + 1):
                f /= a
            w[s, n] = f
    e = np.zeros(maxd + 1)
    for leaf in range(len(val)):
        n = d[leaf]
        z = cover[leaf]
        for mask in range(1 << n):
            for k in range(n):
                # elementary symmetric polynomials of z over the hot set without k; cold ones multiply
                e[:] = 0.0
                e[0] = 1.0
                m = 0
                cold = 1.0
                for j in range(n):
                    if j == k:
                        continue
                    if (mask >> j) & 1:
                        m += 1
                        for q in range(m, 0, -1):
                            e[q] += e[q - 1] * z[j]
                    else:
                        cold *= z[j]
                # sum over S ⊆ hot: w(|S|, n) * prod_{hot \ S} z  = sum_q w(m - q, n) * e_q
                acc = 0.0
                for q in range(m + 1):
                    acc += w[m - q, n] * e[q]
                o = float((mask >> k) & 1)
                table[offset[leaf] + mask * n + k] = val[leaf] * (o - z[k]) * cold * acc
    return table


@numba.njit(cache=True, inline="always")
def _goes_left(x, node, feat, thr, iscat, dleft, miss, cstart, clen, cats) -> bool:
    f = x[feat[node]]
    if iscat[node]:
        if np.isnan(f) or f < 0:
            return False
        v = int(f)
        for i in range(cstart[node], cstart[node] + clen[node]):  # noqa: SIM110 (numba: a plain loop)
            if cats[i] == v:
                return True
        return False
    if np.isnan(f) and miss[node] != 2:
        f = 0.0
    if (miss[node] == 1 and abs(f) <= _KZERO) or (miss[node] == 2 and np.isnan(f)):
        return dleft[node] == 1
    return f <= thr[node]


def _shap_rows(
    X,
    t_node_start,
    t_leaf_start,
    feat,
    thr,
    iscat,
    dleft,
    miss,
    cstart,
    clen,
    cats,
    d,
    nsplit,
    split_node,
    split_dir,
    split_k,
    leaf_feat,
    offset,
    table,
    n_features,
    expected,
    block,
):
    """SHAP values of all rows; blocks of `block` rows run in parallel under `parallel=True`."""
    n = X.shape[0]
    out = np.zeros((n, n_features + 1))
    n_blocks = (n + block - 1) // block
    max_nodes = 1
    for t in range(len(t_node_start) - 1):
        max_nodes = max(max_nodes, t_node_start[t + 1] - t_node_start[t])
    for b in numba.prange(n_blocks):
        dec = np.zeros(max_nodes, np.int8)
        lo = b * block
        hi = min(n, lo + block)
        for t in range(len(t_node_start) - 1):
            n0, n1 = t_node_start[t], t_node_start[t + 1]
            for r in range(lo, hi):
                x = X[r]
                for node in range(n0, n1):
                    dec[node - n0] = _goes_left(x, node, feat, thr, iscat, dleft, miss, cstart, clen, cats)
                for leaf in range(t_leaf_start[t], t_leaf_start[t + 1]):
                    k_n = d[leaf]
                    cold = 0
                    for s in range(nsplit[leaf]):
                        cold |= (dec[split_node[leaf, s] - n0] ^ split_dir[leaf, s]) << split_k[leaf, s]
                    mask = ((1 << k_n) - 1) & ~cold
                    base = offset[leaf] + mask * k_n
                    for k in range(k_n):
                        out[r, leaf_feat[leaf, k]] += table[base + k]
        for r in range(lo, hi):
            out[r, n_features] = expected
    return out


# One source, two compilations: the thread pool for the daily job's many rows, the calling thread
# for an API request's few (starting the pool costs more than it saves, worst on a busy machine).
# Both release the GIL: a batch scored in the service's thread then leaves its event loop free to
# answer (and refuse) other requests meanwhile.
shap_rows = numba.njit(parallel=True, cache=True, nogil=True)(_shap_rows)
shap_rows_serial = numba.njit(cache=True, nogil=True)(_shap_rows)
