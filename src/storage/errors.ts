// Errors a user can cause when opening or using a durable store. Each names the path it concerns
// and what is wrong with it in one line, so that a CLI can print it as it is.

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

// StorageOpenError: the store cannot be opened for a reason outside its contents (the folder
// cannot be created or written, it belongs to another node, another process holds it).
export class StorageOpenError extends StorageError {
  override name = 'StorageOpenError';
}

// StorageCorruptError: the files hold something this code did not write (damaged, truncated,
// half-deleted). A corrupt store is never reset or recreated: an operator decides what to do.
export class StorageCorruptError extends StorageError {
  override name = 'StorageCorruptError';
}
