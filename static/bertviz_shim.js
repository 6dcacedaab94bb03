// BERT Explorer: runs bertviz's head_view.js / model_view.js with no require.js and no CDN.
// d3 and jQuery are inlined before this script (as window.d3 and window.jQuery). The attention
// arrives packed (components/bertviz_views.py): per row, the columns whose weight reaches the
// view's minimum and their weights quantised to 1/255. It is expanded here into the nested
// arrays bertviz expects: attn[layer][head][row] is a Float32Array over the columns.
function requirejs(modules, body) {
    body(window.jQuery, window.d3);
}

function bytesFromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
}

function expandAttention(packed) {
    const [nLayers, nHeads, nRows, nCols] = packed.shape;
    const counts = new Uint16Array(bytesFromBase64(packed.counts).buffer);
    const cols = new Uint16Array(bytesFromBase64(packed.cols).buffer);
    const values = bytesFromBase64(packed.values);
    const dense = new Float32Array(nLayers * nHeads * nRows * nCols);
    let k = 0;
    for (let row = 0; row < counts.length; row++) {
        for (let n = 0; n < counts[row]; n++, k++) dense[row * nCols + cols[k]] = values[k] / 255;
    }
    const attn = [];
    for (let l = 0; l < nLayers; l++) {
        const heads = [];
        for (let h = 0; h < nHeads; h++) {
            const rows = [];
            for (let r = 0; r < nRows; r++) {
                const start = ((l * nHeads + h) * nRows + r) * nCols;
                rows.push(dense.subarray(start, start + nCols));
            }
            heads.push(rows);
        }
        attn.push(heads);
    }
    return attn;
}

function expandParams(params) {
    params.attention.forEach(function (d) { d.attn = expandAttention(d.attn); });
    return params;
}

// The lines to draw for one row: only weights of at least minWeight (fainter ones are invisible).
function linksOf(row, minWeight) {
    const links = [];
    for (let j = 0; j < row.length; j++) {
        if (row[j] >= minWeight) links.push({j: j, w: row[j]});
    }
    return links;
}

// The head view's rows that draw at least one line: [{i: row index, links: linksOf(row)}].
function rowsWithLinks(rows, minWeight) {
    const kept = [];
    rows.forEach(function (row, i) {
        const links = linksOf(row, minWeight);
        if (links.length) kept.push({i: i, links: links});
    });
    return kept;
}
