"""cnnref"""
