// Where words stand on screen, as [top, bottom, viewport height, inside] of their box, or null
// when the page does not hold them: matched across its text nodes, white space folded, case
// ignored; inside: whether they stand in the element whose id is arguments[1] (when given).
// Read through tests/browser.py (Selenium's execute_script; arguments[0]: the words).
const words = arguments[0].split(" ").map(w => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
let text = "", nodes = [];
for (let n; (n = walker.nextNode());) { nodes.push([text.length, n]); text += n.textContent; }
const found = new RegExp(words.join("\\s+"), "i").exec(text);
if (!found) return null;
const at = offset => { const [start, node] = nodes.filter(([s]) => s <= offset).pop(); return [node, offset - start]; };
const range = document.createRange();
range.setStart(...at(found.index));
range.setEnd(...at(found.index + found[0].length - 1));
const box = range.getBoundingClientRect();
const holder = arguments[1] ? document.getElementById(arguments[1]) : null;
return [box.top, box.bottom, window.innerHeight, holder !== null && holder.contains(range.startContainer)];
