#!/usr/bin/env python3
"""Independent expected values for the built-in CT engine on real corpus CT.

Run once (`python3 lib/segmentation/__fixtures__/expected_ct.py > lib/segmentation/__fixtures__/expected-ct.json`);
the tests compare the TypeScript engine with the JSON it printed. Nothing here shares code with
the platform: pixels come from dcmtk (`dcmdjpeg` for the JPEG Lossless file, `dcmdump +W` to
write the Pixel Data as raw little-endian int16, checked against the corpus manifest's
pydicom sha256), and the segmentation is the rule documented in builtin-engine.ts carried out
with numpy and scipy.ndimage:

  body   largest 6-connected component of HU > -500 (scipy.ndimage.label, face connectivity),
         holes filled per axial slice (binary_fill_holes, 4-connectivity);
  lungs  HU < -500 inside the filled body, components (6-conn.) of >= 5 mL;
  bone   HU >= 300 inside the filled body;
  air    HU < -500 outside the filled body, components touching a face of the volume;
  body label = filled body minus lungs minus bone.

HU = stored value x RescaleSlope (1) + RescaleIntercept (-1024), as both files declare.
Needs: python3 with numpy and scipy, dcmtk. Tool versions are printed into the JSON.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import scipy
from scipy import ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
DICOM = os.path.join(HERE, '..', '..', 'dicom', '__fixtures__')


def raw_pixels(name, rows, cols, sha256):
    """Frame 0 as int16, decoded by dcmtk (decompressing JPEG first)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(DICOM, name)
        plain = os.path.join(tmp, 'plain.dcm')
        if subprocess.run(['dcmdjpeg', src, plain], capture_output=True).returncode != 0:
            plain = src  # not compressed
        subprocess.run(['dcmdump', '+W', tmp, plain], check=True, capture_output=True)
        raw = [f for f in os.listdir(tmp) if f.endswith('.raw')][0]
        data = open(os.path.join(tmp, raw), 'rb').read()
    if hashlib.sha256(data).hexdigest() != sha256:
        sys.exit(f'{name}: decoded pixels differ from the corpus reference')
    return np.frombuffer(data, '<i2').reshape(rows, cols).astype(np.int32)


def segment(hu, spacing_mm):
    """hu: array (z, y, x); spacing_mm: (z, y, x). Answers voxels and mL per structure."""
    voxel_ml = spacing_mm[0] * spacing_mm[1] * spacing_mm[2] / 1000.0
    six = ndi.generate_binary_structure(3, 1)
    labels, n = ndi.label(hu > -500, six)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    body = labels == sizes.argmax()
    four = ndi.generate_binary_structure(2, 1)
    body = np.stack([ndi.binary_fill_holes(s, four) for s in body])
    gas, n = ndi.label((hu < -500) & body, six)
    gas_sizes = np.bincount(gas.ravel())
    lungs = np.isin(gas, [i for i in range(1, n + 1) if gas_sizes[i] * voxel_ml >= 5.0])
    bone = (hu >= 300) & body
    outside, n = ndi.label((hu < -500) & ~body, six)
    faces = np.concatenate([outside[0].ravel(), outside[-1].ravel(), outside[:, 0].ravel(), outside[:, -1].ravel(), outside[:, :, 0].ravel(), outside[:, :, -1].ravel()])
    air = np.isin(outside, [i for i in np.unique(faces) if i != 0])
    result = {}
    for name, mask in (('body', body & ~lungs & ~bone), ('lungs', lungs), ('bone', bone), ('air', air)):
        voxels = int(mask.sum())
        result[name] = {'voxels': voxels, 'volumeMl': round(voxels * voxel_ml, 3)}
    return result


small = raw_pixels('ct_small_explicit_le.dcm', 128, 128, '7a481f6ffff833aef4d8bd54819bd8f472aaa7232090208e056c90eacf079926') - 1024
ankle = raw_pixels('ct_ankle_jpeg_lossless_sv1.dcm', 512, 512, 'c0f28b2268b2b2a44aae658f3b5b531943f85866613034fca768d4ff389783af') - 1024
dcmtk = subprocess.run(['dcmdump', '--version'], capture_output=True, text=True).stdout.splitlines()[0]

print(json.dumps({
    'method': 'lib/segmentation/__fixtures__/expected_ct.py (dcmtk decoding, numpy + scipy.ndimage)',
    'tools': {'numpy': np.__version__, 'scipy': scipy.__version__, 'dcmtk': dcmtk},
    # 0.661468 mm pixels, 5 mm slices (Spacing Between Slices).
    'ct_small_explicit_le': segment(small[None], (5.0, 0.661468, 0.661468)),
    # The same slice stacked 8 times, 5 mm apart: a real CT volume of 8 slices.
    'ct_small_x8': segment(np.repeat(small[None], 8, 0), (5.0, 0.661468, 0.661468)),
    # No Pixel Spacing or slice distance in the file: 1 mm assumed, as the platform does.
    'ct_ankle': segment(ankle[None], (1.0, 1.0, 1.0)),
}, indent=2))
