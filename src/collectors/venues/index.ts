// The registry of venue adapters, by name.
import type { VenueAdapter, VenueBaseConfig } from '../adapter.js';
import { akash } from './akash.js';
import { azure } from './azure.js';
import { lambda } from './lambda.js';
import { runpod } from './runpod.js';
import { tensordock } from './tensordock.js';
import { vast } from './vast.js';

export const VENUES = { vast, runpod, lambda, tensordock, akash, azure } as const;
export type VenueName = keyof typeof VENUES;
export const VENUE_NAMES = Object.keys(VENUES) as VenueName[];

export function getVenue(name: VenueName): VenueAdapter<VenueBaseConfig> {
  return VENUES[name] as unknown as VenueAdapter<VenueBaseConfig>;
}

export function isVenueName(name: string): name is VenueName {
  return Object.hasOwn(VENUES, name);
}
