/** Placeholder so the CDK app can bundle this entry; replaced by the handler's owner. */
export async function handler(): Promise<never> {
  throw new Error('not implemented yet');
}
