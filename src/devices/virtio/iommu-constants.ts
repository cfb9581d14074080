// virtio-iommu constants (virtio 1.2 §5.13).

export const VIRTIO_ID_IOMMU = 23;

export const IOMMU_REQUEST_QUEUE = 0;
export const IOMMU_EVENT_QUEUE = 1;

/** Feature bits (§5.13.3). */
export const IOMMU_F_INPUT_RANGE = 0;
export const IOMMU_F_DOMAIN_RANGE = 1;
export const IOMMU_F_MAP_UNMAP = 2;
export const IOMMU_F_BYPASS = 3;
export const IOMMU_F_PROBE = 4;
export const IOMMU_F_MMIO = 5;
export const IOMMU_F_BYPASS_CONFIG = 6;

/** struct virtio_iommu_config offsets (§5.13.4). */
export const IommuConfig = {
  pageSizeMask: 0,
  inputRangeStart: 8,
  inputRangeEnd: 16,
  domainRangeStart: 24,
  domainRangeEnd: 28,
  probeSize: 32,
  bypass: 36,
  size: 40,
} as const;

/** Request types (§5.13.6). */
export const IOMMU_T_ATTACH = 1;
export const IOMMU_T_DETACH = 2;
export const IOMMU_T_MAP = 3;
export const IOMMU_T_UNMAP = 4;
export const IOMMU_T_PROBE = 5;

/** Request status values. */
export const IOMMU_S_OK = 0;
export const IOMMU_S_IOERR = 1;
export const IOMMU_S_UNSUPP = 2;
export const IOMMU_S_DEVERR = 3;
export const IOMMU_S_INVAL = 4;
export const IOMMU_S_RANGE = 5;
export const IOMMU_S_NOENT = 6;
export const IOMMU_S_FAULT = 7;
export const IOMMU_S_NOMEM = 8;

export const IOMMU_ATTACH_F_BYPASS = 1;

export const IOMMU_MAP_F_READ = 1;
export const IOMMU_MAP_F_WRITE = 2;
export const IOMMU_MAP_F_MMIO = 4;

/** Request head (type + 3 reserved) and tail (status + 3 reserved). */
export const IOMMU_HEAD_SIZE = 4;
export const IOMMU_TAIL_SIZE = 4;
/** Device-readable bytes of each request, head included. */
export const IOMMU_REQ_SIZE: Readonly<Record<number, number>> = {
  [IOMMU_T_ATTACH]: 20,
  [IOMMU_T_DETACH]: 20,
  [IOMMU_T_MAP]: 36,
  [IOMMU_T_UNMAP]: 28,
  [IOMMU_T_PROBE]: 72,
};

/** Probe properties (§5.13.6.8). */
export const IOMMU_PROBE_T_NONE = 0;
export const IOMMU_PROBE_T_RESV_MEM = 1;
export const IOMMU_RESV_MEM_T_RESERVED = 0;
export const IOMMU_RESV_MEM_T_MSI = 1;
/** A property header (type, length) and a RESV_MEM value. */
export const IOMMU_PROBE_PROP_HEADER = 4;
export const IOMMU_RESV_MEM_LENGTH = 20;

/** struct virtio_iommu_fault (§5.13.6.9). */
export const IOMMU_FAULT_SIZE = 24;
export const IOMMU_FAULT_R_UNKNOWN = 0;
export const IOMMU_FAULT_R_DOMAIN = 1;
export const IOMMU_FAULT_R_MAPPING = 2;
export const IOMMU_FAULT_F_READ = 1;
export const IOMMU_FAULT_F_WRITE = 2;
export const IOMMU_FAULT_F_EXEC = 4;
export const IOMMU_FAULT_F_ADDRESS = 0x100;
