// Defaults of the storage layer that need none of its code (the CLI reads them before it loads the database driver).
export const DEFAULT_DB_PATH = './data/gpuidx.db';
