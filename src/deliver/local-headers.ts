// Headers a final local delivery adds (Return-Path, Delivered-To) and the
// Delivered-To loop check that qmail made standard.
import { getFields, splitMessage } from '../message/headers.js';

export function deliveryPrefix(sender: string, recipient: string, eol = '\n'): Buffer {
  return Buffer.from(`Return-Path: <${sender}>${eol}Delivered-To: ${recipient}${eol}`, 'latin1');
}

/** True when the message already passed through a delivery to `recipient`. */
export function isDeliveryLoop(data: Buffer, recipient: string): boolean {
  const lower = recipient.toLowerCase();
  return getFields(splitMessage(data).header, 'Delivered-To').some((v) => v.toLowerCase() === lower);
}
