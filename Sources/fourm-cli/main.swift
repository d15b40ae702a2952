print("fourm")
