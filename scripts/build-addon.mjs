// Placeholder until the native addon lands: builds nothing.
import { existsSync } from 'node:fs';
if (!existsSync(new URL('../native/CMakeLists.txt', import.meta.url))) process.exit(0);
