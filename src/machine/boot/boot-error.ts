// A boot image or boot parameter the loader refuses, with the reason a person can act on.
export class BootImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootImageError';
  }
}
