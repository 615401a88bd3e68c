/** regscan's scanning core as a library: image access, inventory, SBOM. */
export * from './image/types.js';
export * from './image/reference.js';
export * from './inventory/types.js';
export * from './inventory/analyzer.js';
