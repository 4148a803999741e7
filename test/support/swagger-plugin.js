// ts-jest wrapper around the @nestjs/swagger compiler plugin that `nest build` runs.
const transformer = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-transformer';
module.exports.version = 1;
module.exports.factory = (cs) => transformer.before({ introspectComments: true }, cs.program);
