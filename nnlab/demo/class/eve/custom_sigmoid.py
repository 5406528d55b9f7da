def custom_sigmoid(x)
    return x
