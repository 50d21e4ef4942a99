"""PyTorch run of cudamlp's MNIST setting, for comparing test accuracy with `cudamlp train`.

Same network (784-hidden...-10, ReLU), He-uniform weights, zero biases, x = pixel/255, SGD lr 0.1,
batch 64, 3 epochs, reshuffled every epoch, last partial batch trained. One line per seed.

Usage: /usr/bin/python3 scripts/pytorch_mnist_accuracy.py 128,64 1,2,3,4,5   (after data/fetch-mnist.sh)
"""
import os, sys, struct, numpy as np, torch, torch.nn as nn
torch.set_num_threads(1)
def idx(path):
    b = open(path,'rb').read(); magic, = struct.unpack('>I', b[:4]); nd = magic & 0xff
    dims = struct.unpack('>'+'I'*nd, b[4:4+4*nd]); return np.frombuffer(b, np.uint8, offset=4+4*nd).reshape(dims)
d=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'mnist') + '/'
xtr = torch.tensor(idx(d+'train-images-idx3-ubyte').reshape(-1,784), dtype=torch.float32)/255
ytr = torch.tensor(idx(d+'train-labels-idx1-ubyte'), dtype=torch.long)
xte = torch.tensor(idx(d+'t10k-images-idx3-ubyte').reshape(-1,784), dtype=torch.float32)/255
yte = torch.tensor(idx(d+'t10k-labels-idx1-ubyte'), dtype=torch.long)
sizes=[784]+[int(s) for s in sys.argv[1].split(',')]+[10]
for seed in [int(s) for s in sys.argv[2].split(',')]:
    torch.manual_seed(seed)
    layers=[]
    for i in range(len(sizes)-1):
        l=nn.Linear(sizes[i],sizes[i+1]); nn.init.kaiming_uniform_(l.weight, nonlinearity='relu'); nn.init.zeros_(l.bias); layers += [l, nn.ReLU()]
    m=nn.Sequential(*layers[:-1]); opt=torch.optim.SGD(m.parameters(), lr=0.1)
    for ep in range(3):
        perm=torch.randperm(60000)
        for i in range(0,60000,64):
            idxs=perm[i:i+64]; opt.zero_grad(); loss=nn.functional.cross_entropy(m(xtr[idxs]), ytr[idxs]); loss.backward(); opt.step()
    with torch.no_grad(): acc=(m(xte).argmax(1)==yte).float().mean().item()
    print(sys.argv[1], 'seed', seed, 'test acc %.2f%%' % (100*acc), flush=True)
