-- Uses the JSON codec, the class library and the utility collection as a program would,
-- printing what they give; run by pubwiki-lua (modules from this folder) and by lua5.4.
local json = require("json")
local Object = require("class")
local util = require("util")

print(json._VERSION, util.version, util.path("a", "b", "c"))
local data = { name = "Lua", year = 1993, tags = { "small", "fast" }, nested = { ok = true, ratio = 0.5 }, empty = {} }
local text = json.encode(data)
print(text)
local back = json.decode(text)
print(back.name, back.year, math.type(back.year), back.tags[2], back.nested.ok, back.nested.ratio, #back.empty)
print(json.encode(json.decode(' [1, 2.5, "x\\n\\u00e9", null, true, {"k": [ ]}] ')))
for _, bad in ipairs({ "[1, 2", '{"a" 1}', "[1] x", '"open' }) do
  print(pcall(json.decode, bad))
end
-- (Error positions name the chunk, which lua5.4 names after the file: leave them out.)
local ok, message = pcall(json.encode, { [1] = 1, [3] = 3 })
print(ok, (message:gsub("^[^:]*:%d+: ", "")))
local loop = {} loop.self = loop
print(select(2, pcall(json.encode, loop)):match("circular reference"))

local Animal = Object:extend("Animal")
function Animal:init(name, sound) self.name, self.sound = name, sound end
function Animal:speak() return self.name .. " says " .. self.sound end
function Animal.__eq(a, b) return a.name == b.name end
function Animal.__lt(a, b) return a.name < b.name end
local Dog = Animal:extend("Dog")
function Dog:init(name) Dog.super.init(self, name, "woof") end
function Dog:fetch() return self.name .. " fetches" end
local rex, tom = Dog:new("Rex"), Animal:new("Tom", "meow")
print(rex:speak(), rex:fetch(), tom:speak())
print(tostring(rex), tostring(tom), rex:isinstance(Dog), rex:isinstance(Animal), tom:isinstance(Dog))
print(rex == Dog:new("Rex"), tom < rex, rawequal(Dog.super, Animal))
local animals = { Dog:new("Fido"), Animal:new("Cat", "meow"), rex }
table.sort(animals)
print(util.strings.join(util.functional.map(animals, function(a) return a.name end), ","))

local words = util.strings.split("one, two,three ,  four", ",")
print(#words, util.strings.join(util.tables.map(words, util.strings.trim), "|"))
print(util.strings.title("the quick BROWN fox's tale"))
print(table.concat(util.tables.keys({ b = 1, a = 2, [3] = true }), " "), util.tables.count({ 1, 2, x = 3 }))
local inc_then_double = util.functional.compose(function(x) return x * 2 end, function(x) return x + 1 end)
print(inc_then_double(4), util.functional.reduce({ 1, 2, 3, 4 }, function(a, b) return a + b end, 0))
print(require("util") == util, require("util.strings") == util.strings, package.loaded["util.tables"] == util.tables)
