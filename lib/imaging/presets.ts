/** Window presets (centre/width in HU for CT), as radiology departments commonly set them. */
export const WINDOW_PRESETS = {
  brain: { label: 'CT brain', center: 40, width: 80 },
  subdural: { label: 'CT subdural', center: 75, width: 215 },
  lung: { label: 'CT lung', center: -600, width: 1500 },
  mediastinum: { label: 'CT mediastinum', center: 50, width: 350 },
  abdomen: { label: 'CT abdomen', center: 40, width: 400 },
  liver: { label: 'CT liver', center: 60, width: 160 },
  bone: { label: 'CT bone', center: 400, width: 1800 },
} as const;

export type PresetName = keyof typeof WINDOW_PRESETS;
export const PRESET_NAMES = Object.keys(WINDOW_PRESETS) as PresetName[];
