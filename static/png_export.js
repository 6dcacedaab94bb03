// BERT Explorer: save an SVG that a view in the same page has drawn as a PNG, in the browser (the server
// has no drawing engine). The SVG is copied with its computed styles (bertviz styles text through CSS),
// drawn on a white canvas and saved; nothing leaves the machine. Used by components/html.py png_download,
// which may run this file again on every rerun: top-level names are var and function, which may be redeclared.

var PNG_STYLES = ["font-family", "font-size", "font-weight", "font-style", "fill", "fill-opacity", "stroke",
                    "stroke-width", "stroke-opacity", "stroke-dasharray", "opacity", "text-anchor",
                    "dominant-baseline", "visibility", "display"];

function inlineStyles(source, copy) {
    const computed = source.ownerDocument.defaultView.getComputedStyle(source);
    copy.setAttribute("style", PNG_STYLES.map(name => `${name}:${computed.getPropertyValue(name)}`).join(";"));
    for (let i = 0; i < source.children.length; i++) inlineStyles(source.children[i], copy.children[i]);
}

// The SVG as a PNG blob: at most 2 pixels per SVG pixel, fewer where the canvas would grow past
// Chromium's limits (16,384 px a side, about 268 million pixels).
function svgToPngBlob(svg) {
    const box = svg.getBBox(), rect = svg.getBoundingClientRect();
    const width = Math.ceil(Math.max(rect.width, box.x + box.width)), height = Math.ceil(Math.max(rect.height, box.y + box.height));
    const copy = svg.cloneNode(true);
    inlineStyles(svg, copy);
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    copy.setAttribute("width", width);
    copy.setAttribute("height", height);
    if (!copy.getAttribute("viewBox")) copy.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const scale = Math.min(2, 16000 / Math.max(width, height), Math.sqrt(2.4e8 / (width * height)));
    const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)],
                                             {type: "image/svg+xml;charset=utf-8"}));
    return new Promise((resolve, reject) => {
        const image = new Image();
        image.onload = () => {
            const canvas = document.createElement("canvas");
            canvas.width = Math.round(width * scale);
            canvas.height = Math.round(height * scale);
            const context = canvas.getContext("2d");
            context.fillStyle = "white";
            context.fillRect(0, 0, canvas.width, canvas.height);
            context.scale(scale, scale);
            context.drawImage(image, 0, 0, width, height);
            URL.revokeObjectURL(url);
            canvas.toBlob(blob => blob ? resolve(blob) : reject(new Error("the picture is too large")), "image/png");
        };
        image.onerror = () => reject(new Error("the browser could not draw the picture"));
        image.src = url;
    });
}

// Find the iframe titled frameTitle in the page around this document, take the first element that
// matches selector inside it, and save it as fileName.
function savePngFromFrame(frameTitle, selector, fileName, status) {
    const frame = Array.from(window.parent.document.querySelectorAll("iframe")).find(f => f.title === frameTitle);
    const svg = frame && frame.contentDocument && frame.contentDocument.querySelector(selector);
    if (!svg) {
        status.textContent = "Nothing drawn yet: wait for the view, then try again.";
        return;
    }
    status.textContent = "";
    svgToPngBlob(svg).then(blob => {
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = fileName;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    }).catch(error => { status.textContent = error.message; });
}

// Make the button with id buttonId save the picture: Material Symbols' "download" icon in front of its
// label (as on the app's other download buttons), and onclick (not addEventListener: a rerun may run
// this again on the same button).
function pngButton(buttonId, frameTitle, selector, fileName) {
    const button = document.getElementById(buttonId), status = document.getElementById(buttonId + "-status");
    if (!button.querySelector("svg")) {
        const svgNS = "http://www.w3.org/2000/svg";
        const icon = document.createElementNS(svgNS, "svg"), path = document.createElementNS(svgNS, "path");
        icon.setAttribute("viewBox", "0 -960 960 960");
        icon.setAttribute("width", "18");
        icon.setAttribute("height", "18");
        icon.setAttribute("fill", "currentColor");
        path.setAttribute("d", "M480-320 280-520l56-58 104 104v-326h80v326l104-104 56 58-200 200ZM240-160q-33 0-56.5" +
                               "-23.5T160-240v-120h80v120h480v-120h80v120q0 33-23.5 56.5T720-160H240Z");
        icon.appendChild(path);
        button.prepend(icon);
    }
    button.onclick = () => savePngFromFrame(frameTitle, selector, fileName, status);
}
