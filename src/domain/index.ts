// The whole domain, built schemas included: what the API, activities, scripts and tests import.
export * from './logic.js';
export * from './schemas.js';
