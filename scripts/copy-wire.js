// tsc does not emit plain .js sources: place the generated wire module beside the compiled code.
const fs = require('node:fs');
const path = require('node:path');
const out = path.join(__dirname, '..', 'dist', 'src', 'wire');
fs.mkdirSync(out, { recursive: true });
fs.copyFileSync(path.join(__dirname, '..', 'src', 'wire', 'im.js'), path.join(out, 'im.js'));
