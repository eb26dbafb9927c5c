//! A layered drawing of a directed graph as SVG, for the state machine and the architecture a
//! workflow's events reveal. Nodes go top to bottom by their longest path from the roots (an
//! edge back up, a loop, is drawn along the right), each row ordered by its parents' positions
//! so that edges cross little. The layout is computed here, on the server: the pages and the
//! static files need no script to draw it.

use std::fmt::Write;

/// Space between rows and between nodes of a row.
const GAP_Y: f64 = 36.0;
const GAP_X: f64 = 24.0;

/// A box to place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// Where each box went (its top left corner), and the size of the whole.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub positions: Vec<(f64, f64)>,
    pub width: f64,
    pub height: f64,
}

/// Places `sizes` in rows: each node below every node with an edge to it (edges that would
/// close a cycle aside), the first nodes of `sizes` first in their rows.
pub fn layout(sizes: &[Size], edges: &[(usize, usize)]) -> Layout {
    let count = sizes.len();
    let forward = forward_edges(count, edges);
    let mut rank = vec![0usize; count];
    // Longest path: a node's rank settles once all its forward parents have theirs.
    for node in topological_order(count, &forward) {
        for &(from, to) in &forward {
            if from == node {
                rank[to] = rank[to].max(rank[node] + 1);
            }
        }
    }
    let rows = rank.iter().copied().max().map_or(0, |r| r + 1);
    let mut positions = vec![(0.0, 0.0); count];
    let mut row_widths = Vec::with_capacity(rows);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); rows];
    let mut y = 0.0;
    for (row, members) in members.iter_mut().enumerate() {
        let mut in_row: Vec<(f64, usize)> = (0..count)
            .filter(|&n| rank[n] == row)
            .map(|n| {
                let parents: Vec<f64> = forward
                    .iter()
                    .filter(|&&(_, to)| to == n)
                    .map(|&(from, _)| positions[from].0 + sizes[from].width / 2.0)
                    .collect();
                let centre = if parents.is_empty() {
                    f64::MAX
                } else {
                    parents.iter().sum::<f64>() / parents.len() as f64
                };
                (centre, n)
            })
            .collect();
        in_row.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut x = 0.0;
        let mut height: f64 = 0.0;
        for &(_, n) in &in_row {
            positions[n] = (x, y);
            x += sizes[n].width + GAP_X;
            height = height.max(sizes[n].height);
            members.push(n);
        }
        row_widths.push((x - GAP_X).max(0.0));
        y += height + GAP_Y;
    }
    let width = row_widths.iter().copied().fold(0.0, f64::max);
    // Each row centred under the widest.
    for (row, members) in members.iter().enumerate() {
        let shift = (width - row_widths[row]) / 2.0;
        for &n in members {
            positions[n].0 += shift;
        }
    }
    Layout {
        positions,
        width,
        height: (y - GAP_Y).max(0.0),
    }
}

/// The edges that do not close a cycle, found by a depth-first walk from each node in order.
fn forward_edges(count: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; count];
    let mut forward = Vec::new();
    for root in 0..count {
        if marks[root] != Mark::New {
            continue;
        }
        // (node, index of its next edge to follow)
        let mut path = vec![(root, 0usize)];
        marks[root] = Mark::OnPath;
        while let Some((node, next)) = path.pop() {
            let out: Vec<&(usize, usize)> = edges.iter().filter(|(from, _)| *from == node).collect();
            match out.get(next) {
                Some(&&(from, to)) => {
                    path.push((node, next + 1));
                    match marks[to] {
                        Mark::OnPath => {}
                        Mark::Done => forward.push((from, to)),
                        Mark::New => {
                            forward.push((from, to));
                            marks[to] = Mark::OnPath;
                            path.push((to, 0));
                        }
                    }
                }
                None => marks[node] = Mark::Done,
            }
        }
    }
    forward.sort_unstable();
    forward.dedup();
    forward
}

/// Nodes in an order where every edge goes forward (the edges form no cycle).
fn topological_order(count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut incoming = vec![0usize; count];
    for &(_, to) in edges {
        incoming[to] += 1;
    }
    let mut ready: Vec<usize> = (0..count).rev().filter(|&n| incoming[n] == 0).collect();
    let mut order = Vec::with_capacity(count);
    while let Some(node) = ready.pop() {
        order.push(node);
        for &(from, to) in edges {
            if from == node {
                incoming[to] -= 1;
                if incoming[to] == 0 {
                    ready.push(to);
                }
            }
        }
    }
    order
}

/// The path of an edge between two placed boxes (`(x, y, width, height)`): down from the
/// bottom of the first to the top of the second, or, going back up, around the right.
pub fn edge_path(from: (f64, f64, f64, f64), to: (f64, f64, f64, f64)) -> String {
    let (fx, fy, fw, fh) = from;
    let (tx, ty, tw, th) = to;
    let mut path = String::new();
    if ty > fy + fh {
        let (x1, y1) = (fx + fw / 2.0, fy + fh);
        let (x2, y2) = (tx + tw / 2.0, ty);
        let bend = (y2 - y1) / 2.0;
        let _ = write!(
            path,
            "M{x1:.1},{y1:.1} C{x1:.1},{:.1} {x2:.1},{:.1} {x2:.1},{y2:.1}",
            y1 + bend,
            y2 - bend
        );
    } else {
        let (x1, y1) = (fx + fw, fy + fh / 2.0);
        let (x2, y2) = (tx + tw, ty + th / 2.0);
        let out = x1.max(x2) + GAP_X * 1.5;
        let _ = write!(
            path,
            "M{x1:.1},{y1:.1} C{out:.1},{y1:.1} {out:.1},{y2:.1} {x2:.1},{y2:.1}"
        );
    }
    path
}

/// The arrowhead edges end with, to put once in an SVG's `<defs>`; its `id` unique in the page.
pub fn arrow_marker(id: &str) -> String {
    format!(
        "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker>"
    )
}

/// Room a line of text needs in the pages' font, estimated from its length.
pub fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().count() as f64 * font_size * 0.6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes(count: usize) -> Vec<Size> {
        vec![
            Size {
                width: 100.0,
                height: 30.0
            };
            count
        ]
    }

    #[test]
    fn every_node_is_below_the_nodes_leading_to_it() {
        // 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 0 (a loop back)
        let edges = [(0, 1), (0, 2), (1, 3), (2, 3), (3, 0)];
        let placed = layout(&boxes(4), &edges);
        let y = |n: usize| placed.positions[n].1;
        assert!(y(0) < y(1) && y(1) == y(2) && y(2) < y(3), "{placed:?}");
        assert_eq!(placed.height, 3.0 * 30.0 + 2.0 * GAP_Y);
        assert_eq!(placed.width, 2.0 * 100.0 + GAP_X);
        // Nodes of a row do not overlap; the single nodes are centred.
        assert!(placed.positions[1].0 + 100.0 <= placed.positions[2].0);
        assert_eq!(placed.positions[0].0, (placed.width - 100.0) / 2.0);
    }

    #[test]
    fn a_loop_is_drawn_around_the_right() {
        let placed = layout(&boxes(2), &[(0, 1), (1, 0)]);
        let at = |n: usize| (placed.positions[n].0, placed.positions[n].1, 100.0, 30.0);
        assert!(edge_path(at(0), at(1)).starts_with("M50.0,30.0 C"));
        let back = edge_path(at(1), at(0));
        assert!(back.starts_with("M100.0,81.0 C136.0,81.0"), "{back}");
    }

    #[test]
    fn unconnected_nodes_share_the_first_row() {
        let placed = layout(&boxes(3), &[]);
        assert!(placed.positions.iter().all(|p| p.1 == 0.0));
        assert_eq!(placed.height, 30.0);
    }
}
