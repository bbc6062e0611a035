/** The class names of the data sets we know (what a conditional model's labels mean). */
export const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
/** Fashion-MNIST's labels 0..9, as its README names them. */
export const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** `--data` fashion: Fashion-MNIST's names; mnist or an IDX directory: the digits. */
export function classNamesOf(data: string): string[] {
  return [...(data === 'fashion' ? FASHION : DIGITS)];
}
