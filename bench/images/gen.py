# gen.py DIR N writes N small files (0.5-8 KiB of deterministic text) in a
# tree of directories 100 wide, as an application with many small files.
import hashlib, os, sys

root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 100), "e%03d" % (i // 100 % 100))
    os.makedirs(d, exist_ok=True)
    seed = hashlib.sha256(str(i).encode()).hexdigest()
    size = 512 + int(seed[:4], 16) % 7680
    line = ("%s %d\n" % (seed, i)).encode()
    with open(os.path.join(d, "f%07d.txt" % i), "wb") as f:
        f.write((line * (size // len(line) + 1))[:size])
