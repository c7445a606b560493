import ArgumentParser
print("vigil")
