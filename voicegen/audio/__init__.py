"""voicegen.audio"""
