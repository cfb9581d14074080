// The dedicated module Worker the page runs the machine in: it only exposes
// a MachineHost through comlink. Instructions run here, so a busy guest never
// blocks the page; the page sees guest RAM and the VGA registers through the
// shared memory and exchanges serial and keyboard bytes through rings.
import * as Comlink from 'comlink';
import { MachineHost } from './machine-host.ts';

Comlink.expose(new MachineHost());
